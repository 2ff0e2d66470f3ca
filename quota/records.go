package quota

import (
	"fmt"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/meta"
)

// Kind is the record kind of the quota bookkeeping: each project's
// limit, usage parts, marks and holders, under the key prefixes
// "limit/", "shard/", "mark/" and "holder/".
const Kind = "quota"

// Unlimited is the limit of a project without one.
const Unlimited int64 = -1

// Limit is a project's storage limit.
type Limit struct {
	// Project is the project's name.
	Project string `json:"project"`
	// Bytes is the limit in bytes; Unlimited (-1) for none.
	Bytes int64 `json:"bytes"`
	// UpdatedAt is when it was last set.
	UpdatedAt time.Time `json:"updatedAt"`
}

// shard is one part of a project's usage counter. A push adds what it
// stores to one shard, chosen so that concurrent pushes of one instance
// write different ones; it needs to read no other shard while the shard's
// allotment (Allot − Used) covers what it adds. The allotments of all
// shards never add up to more than the project's limit (or the warning
// line below it, until usage crosses that line), so the sum of Used never
// exceeds the limit. When a push finds its shard's allotment short it
// reads every shard, refuses the push if the project's total would exceed
// the limit, and deals what is left out again (rebalance).
type shard struct {
	// Used is what pushes through this shard stored, less what deletes
	// through it freed: it may be negative, only the sum means usage.
	Used int64 `json:"used"`
	// Allot is the most Used may reach without a rebalance.
	Allot int64 `json:"allot"`
	// Limit is the limit the allotment was dealt for: a push that finds
	// another limit rebalances.
	Limit int64 `json:"limit"`
}

// mark records that a digest is held in a project, and the size it
// counts for.
type mark struct {
	Size int64 `json:"size"`
}

func limitKey(project string) string { return "limit/" + project }

func shardPrefix(project string) string { return "shard/" + project + "/" }

func shardKey(project string, i int) string { return fmt.Sprintf("%s%03d", shardPrefix(project), i) }

func markPrefix(project string) string { return "mark/" + project + "/" }

func markKey(project string, d digest.Digest) string { return markPrefix(project) + d.String() }

// holderPrefix starts the keys of the holders of d in project: one per
// manifest (repository and digest) that holds d, its own digest included.
// Project names hold no "/", digests no "@", repository names neither.
func holderPrefix(project string, d digest.Digest) string {
	return holdersOf(project) + d.String() + "@"
}

// holdersOf starts the keys of every holder record of project.
func holdersOf(project string) string { return "holder/" + project + "/" }

func holderKey(project string, d digest.Digest, repo string, m digest.Digest) string {
	return holderPrefix(project, d) + repo + "@" + m.String()
}

// present is the value of a holder record: its key says everything.
var present = []byte("{}")

var (
	limits = meta.RecordType[Limit]{Kind: Kind, Key: func(l Limit) string { return limitKey(l.Project) }}
)
