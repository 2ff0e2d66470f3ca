package quota

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/events"
	"github.com/berthreg/berth/meta"
)

// account counts one transaction's changes to usage. part is the part
// of each project's counter the transaction adds to and takes from.
type account struct {
	s    *Service
	ctx  context.Context
	tx   meta.Tx
	part *partLease
	// fill says the transaction stores content manifests hold already
	// (meta.MarkFill).
	fill bool
	// repo and digest name the manifest being charged for, for events.
	repo   string
	digest digest.Digest
}

// shards are a project's usage parts, by index.
type shards map[int]shard

func (all shards) used() int64 {
	var n int64
	for _, sh := range all {
		n += sh.Used
	}
	return n
}

// shardsIn reads every usage part of project.
func shardsIn(tx meta.Tx, project string) (shards, error) {
	prefix := shardPrefix(project)
	recs, err := meta.RecordsWithPrefix(tx.Records(Kind), prefix, 0)
	if err != nil {
		return nil, err
	}
	all := shards{}
	for _, rec := range recs {
		i, err := strconv.Atoi(strings.TrimPrefix(rec.Key, prefix))
		if err != nil {
			return nil, fmt.Errorf("quota: usage part %q: bad index", rec.Key)
		}
		var sh shard
		if err := json.Unmarshal(rec.Value, &sh); err != nil {
			return nil, fmt.Errorf("quota: usage part %q: %w", rec.Key, err)
		}
		all[i] = sh
	}
	return all, nil
}

// shard is the index of the transaction's usage part.
func (a *account) shard() int { return a.part.index() }

func (a *account) getShard(project string) (shard, error) {
	raw, err := a.tx.Records(Kind).Get(shardKey(project, a.shard()))
	if errors.Is(err, meta.ErrNotFound) {
		return shard{}, nil
	}
	if err != nil {
		return shard{}, err
	}
	return decodeShard(shardKey(project, a.shard()), raw)
}

// decodeShard decodes the usage part stored under key (nil: none yet).
func decodeShard(key string, raw []byte) (shard, error) {
	var sh shard
	if raw == nil {
		return sh, nil
	}
	if err := json.Unmarshal(raw, &sh); err != nil {
		return sh, fmt.Errorf("quota: usage part %s: %w", key, err)
	}
	return sh, nil
}

func (a *account) putShard(project string, i int, sh shard) error {
	raw, err := json.Marshal(sh)
	if err != nil {
		return err
	}
	return a.tx.Records(Kind).Put(shardKey(project, i), raw)
}

// charge adds n bytes (n > 0) to project's usage for manifest d pushed
// into repo, given the project's limit and the transaction's usage part
// as read, refusing with an *ExceededError when that would take usage
// over the limit.
func (a *account) charge(project string, n int64, repo string, d digest.Digest, lim Limit, sh shard) error {
	if lim.Bytes == Unlimited || (sh.Limit == lim.Bytes && sh.Used+n <= sh.Allot) {
		sh.Used += n
		return a.putShard(project, a.shard(), sh)
	}
	a.repo, a.digest = repo, d
	_, err := a.rebalance(project, lim, n)
	var ex *ExceededError
	if errors.As(err, &ex) {
		ex.Repository, ex.Digest = repo, d
	}
	return err
}

// release takes n bytes (n > 0) off project's usage.
func (a *account) release(project string, n int64) error {
	sh, err := a.getShard(project)
	if err != nil {
		return err
	}
	sh.Used -= n
	return a.putShard(project, a.shard(), sh)
}

// rebalance reads every usage part of project, refuses to add n bytes
// if the total would then exceed lim, and otherwise adds them to the
// transaction's part and deals what is left below the boundary out
// again: each part may grow by an equal share of it. The boundary is the
// warning line while usage is below it (so the push that crosses it is
// the one that rebalances, and records the warning), else the limit. It
// returns the usage after the change.
func (a *account) rebalance(project string, lim Limit, n int64) (int64, error) {
	all, err := shardsIn(a.tx, project)
	if err != nil {
		return 0, err
	}
	before := all.used()
	after := before + n
	if n > 0 && lim.Bytes != Unlimited && after > lim.Bytes {
		return before, &ExceededError{Project: project, Limit: lim.Bytes, Usage: before, Adding: n}
	}
	boundary := lim.Bytes
	if w := a.s.warnLine(lim.Bytes); w >= 0 {
		if after < w {
			boundary = w
		} else if before < w && n > 0 {
			if err := a.warn(project, lim.Bytes, after); err != nil {
				return 0, err
			}
		}
	}
	count := a.s.shards
	for i := range all {
		count = max(count, i+1)
	}
	mine := all[a.shard()]
	mine.Used += n
	all[a.shard()] = mine
	free := max(0, boundary-after)
	if lim.Bytes == Unlimited {
		free = 0
	}
	per, extra := free/int64(count), free%int64(count)
	for i := range count {
		sh := all[i]
		sh.Allot, sh.Limit = sh.Used+per, lim.Bytes
		if i == a.shard() {
			sh.Allot += extra
		}
		if err := a.putShard(project, i, sh); err != nil {
			return 0, err
		}
	}
	return after, nil
}

// warnLine is the usage at which a limit of bytes warns (-1: never).
func (s *Service) warnLine(bytes int64) int64 {
	if s.warnAt == 0 || bytes == Unlimited {
		return -1
	}
	return bytes / 100 * int64(s.warnAt)
}

// warn records that project's usage crossed its warning line.
func (a *account) warn(project string, limit, usage int64) error {
	_, err := a.tx.Events().Append(quotaEvent(a.ctx, events.QuotaWarning, project, a.repo, a.digest, limit, usage, 0, a.s.now()))
	return err
}

// quotaEvent is a QUOTA_WARNING or QUOTA_EXCEED event of project, for
// a push of manifest d into repo (when known), with Harbor's
// custom_attributes "Details" and Berth's figures.
func quotaEvent(ctx context.Context, typ, project, repo string, d digest.Digest, limit, usage, adding int64, at time.Time) meta.Event {
	e := meta.Event{Type: typ, Time: at.UTC(), Project: project, Repository: repo, Digest: d.String(),
		Details: map[string]string{
			"limit": strconv.FormatInt(limit, 10), "usage": strconv.FormatInt(usage, 10),
		}}
	if p, ok := auth.PrincipalFrom(ctx); ok {
		e.Operator = p.Name
	}
	switch typ {
	case events.QuotaExceed:
		e.Details["adding"] = strconv.FormatInt(adding, 10)
		e.Details["Details"] = fmt.Sprintf("adding %d bytes of storage to project %s, whose usage is %d bytes, would exceed its limit of %d bytes", adding, project, usage, limit)
	default:
		e.Details["Details"] = fmt.Sprintf("project %s uses %d bytes of its storage limit of %d bytes", project, usage, limit)
	}
	return e
}
