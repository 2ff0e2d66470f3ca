package metacopy

import (
	"fmt"
	"strconv"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/meta"
)

// entry is one item of a listing: its key (the listing's order is the
// keys' byte order, reversed for a section marked so) and its record.
type entry struct {
	key string
	val any
}

// section is one listing of a store: what Copy copies page by page and
// Compare merges from both stores. The sections of a repository, and the
// records of a kind, are children of their parent's entries.
type section struct {
	// name counts the section's records in Counts ("tags").
	name string
	// label names an entry in a Difference ("tag v1 in lib/app").
	label func(key string) string
	// list returns up to limit entries after the key after ("" from the
	// start).
	list func(tx meta.Tx, d meta.Dumper, after string, limit int) ([]entry, error)
	// restore writes e into a destination (nil: nothing to write).
	restore func(tx meta.Tx, r meta.Restorer, e entry) error
	// children returns the sections under an entry (nil: none).
	children func(key string) []section
	// reverse says the keys come in descending byte order.
	reverse bool
	// also compares what an entry present in both stores implies beyond
	// its record (nil: nothing).
	also func(ta, tb meta.Tx, a, b entry) ([]Difference, error)
}

// topSections returns the store's listings in the order Copy copies
// them: repositories (with their manifests, tags and links) before
// anything that names them, then the registry-wide records, the event
// log and its cursors, the job queue and the record space.
func topSections() []section {
	return []section{repositories(), blobs(), tombstones(), claims(), uploads(), events(), cursors(), jobs(), kinds()}
}

// labelled returns a label that formats the key with format.
func labelled(format string) func(string) string {
	return func(key string) string { return fmt.Sprintf(format, key) }
}

// each loads the record of every key with get.
func each[K ~string, V any](keys []K, get func(K) (V, error)) ([]entry, error) {
	out := make([]entry, 0, len(keys))
	for _, k := range keys {
		v, err := get(k)
		if err != nil {
			return out, err
		}
		out = append(out, entry{string(k), v})
	}
	return out, nil
}

// entries keys each value of vs by key.
func entries[V any](vs []V, key func(V) string) []entry {
	out := make([]entry, len(vs))
	for i, v := range vs {
		out[i] = entry{key(v), v}
	}
	return out
}

func repositories() section {
	return section{
		name:  "repositories",
		label: labelled("repository %q"),
		list: func(tx meta.Tx, _ meta.Dumper, after string, limit int) ([]entry, error) {
			names, err := tx.Repositories().List(after, limit)
			if err != nil {
				return nil, err
			}
			return each(names, tx.Repositories().Get)
		},
		restore: func(_ meta.Tx, r meta.Restorer, e entry) error { return r.Repository(e.val.(meta.Repository)) },
		children: func(repo string) []section {
			return []section{manifests(repo), tags(repo), links(repo)}
		},
	}
}

func manifests(repo string) section {
	return section{
		name:  "manifests",
		label: func(key string) string { return fmt.Sprintf("manifest %s in %q", key, repo) },
		list: func(tx meta.Tx, _ meta.Dumper, after string, limit int) ([]entry, error) {
			ds, err := tx.Manifests().List(repo, digest.Digest(after), limit)
			if err != nil {
				return nil, err
			}
			return each(ds, func(d digest.Digest) (meta.Manifest, error) { return tx.Manifests().Get(repo, d) })
		},
		restore: func(tx meta.Tx, _ meta.Restorer, e entry) error {
			return tx.Manifests().Put(repo, e.val.(meta.Manifest))
		},
		also: indexesOf(repo),
	}
}

func tags(repo string) section {
	return section{
		name:  "tags",
		label: func(key string) string { return fmt.Sprintf("tag %q in %q", key, repo) },
		list: func(tx meta.Tx, _ meta.Dumper, after string, limit int) ([]entry, error) {
			names, err := tx.Tags().List(repo, after, limit)
			if err != nil {
				return nil, err
			}
			return each(names, func(tag string) (digest.Digest, error) { return tx.Tags().Get(repo, tag) })
		},
		restore: func(tx meta.Tx, _ meta.Restorer, e entry) error {
			return tx.Tags().Put(repo, e.key, e.val.(digest.Digest))
		},
	}
}

func links(repo string) section {
	return section{
		name:  "links",
		label: func(key string) string { return fmt.Sprintf("link of %s in %q", key, repo) },
		list: func(_ meta.Tx, d meta.Dumper, after string, limit int) ([]entry, error) {
			bs, err := d.Links(repo, digest.Digest(after), limit)
			return entries(bs, blobKey), err
		},
		restore: func(_ meta.Tx, r meta.Restorer, e entry) error { return r.Link(repo, e.val.(meta.Blob)) },
	}
}

func blobKey(b meta.Blob) string     { return string(b.Digest) }
func stampKey(s meta.Stamp) string   { return string(s.Digest) }
func uploadKey(u meta.Upload) string { return u.ID }
func cursorKey(c meta.Cursor) string { return c.Name }
func recordKey(r meta.Record) string { return r.Key }
func numberKey(n uint64) string      { return fmt.Sprintf("%020d", n) }
func numberLabel(format string) func(string) string {
	return func(key string) string {
		n, _ := strconv.ParseUint(key, 10, 64)
		return fmt.Sprintf(format, n)
	}
}

// parseNumber reads a key of numberKey ("" is 0).
func parseNumber(key string) uint64 {
	n, _ := strconv.ParseUint(key, 10, 64)
	return n
}

func blobs() section {
	return section{
		name:  "blobs",
		label: labelled("blob %s"),
		list: func(tx meta.Tx, _ meta.Dumper, after string, limit int) ([]entry, error) {
			bs, err := tx.Blobs().List(digest.Digest(after), limit)
			return entries(bs, blobKey), err
		},
		restore: func(_ meta.Tx, r meta.Restorer, e entry) error { return r.Blob(e.val.(meta.Blob)) },
	}
}

func tombstones() section {
	return section{
		name:  "tombstones",
		label: labelled("tombstone of %s"),
		list: func(_ meta.Tx, d meta.Dumper, after string, limit int) ([]entry, error) {
			ss, err := d.Tombstones(digest.Digest(after), limit)
			return entries(ss, stampKey), err
		},
		restore: func(_ meta.Tx, r meta.Restorer, e entry) error { return r.Tombstone(e.val.(meta.Stamp)) },
	}
}

func claims() section {
	return section{
		name:  "claims",
		label: labelled("claim of %s"),
		list: func(_ meta.Tx, d meta.Dumper, after string, limit int) ([]entry, error) {
			ss, err := d.Claims(digest.Digest(after), limit)
			return entries(ss, stampKey), err
		},
		restore: func(tx meta.Tx, _ meta.Restorer, e entry) error {
			s := e.val.(meta.Stamp)
			return tx.Collector().Claims().Claim(s.Digest, s.At)
		},
	}
}

func uploads() section {
	return section{
		name:  "uploads",
		label: labelled("upload session %q"),
		list: func(tx meta.Tx, _ meta.Dumper, after string, limit int) ([]entry, error) {
			us, err := tx.Uploads().List(after, limit)
			return entries(us, uploadKey), err
		},
		restore: func(tx meta.Tx, _ meta.Restorer, e entry) error { return tx.Uploads().Put(e.val.(meta.Upload)) },
	}
}

// events walks the log newest first with Backward, which shows every
// event of the snapshot (List stops before gaps that are not settled).
func events() section {
	return section{
		name:    "events",
		label:   numberLabel("event %d"),
		reverse: true,
		list: func(tx meta.Tx, _ meta.Dumper, after string, limit int) ([]entry, error) {
			p, err := tx.Events().Backward(parseNumber(after), limit, limit, nil)
			return entries(p.Events, func(e meta.Event) string { return numberKey(e.Seq) }), err
		},
		restore: func(_ meta.Tx, r meta.Restorer, e entry) error { return r.Event(e.val.(meta.Event)) },
	}
}

func cursors() section {
	return section{
		name:  "cursors",
		label: labelled("event log cursor %q"),
		list: func(tx meta.Tx, _ meta.Dumper, after string, limit int) ([]entry, error) {
			cs, err := tx.Cursors().List(after, limit)
			return entries(cs, cursorKey), err
		},
		restore: func(tx meta.Tx, _ meta.Restorer, e entry) error { return tx.Cursors().Put(e.val.(meta.Cursor)) },
	}
}

func jobs() section {
	return section{
		name:  "jobs",
		label: numberLabel("job %d"),
		list: func(tx meta.Tx, _ meta.Dumper, after string, limit int) ([]entry, error) {
			js, err := tx.Jobs().List(meta.JobFilter{}, parseNumber(after), limit)
			return entries(js, func(j meta.Job) string { return numberKey(j.ID) }), err
		},
		restore: func(_ meta.Tx, r meta.Restorer, e entry) error { return r.Job(e.val.(meta.Job)) },
	}
}

// kinds lists the record kinds (there are few: Dumper.Kinds returns them
// all at once), each with its records as a child.
func kinds() section {
	return section{
		name:  "kinds",
		label: labelled("record kind %q"),
		list: func(_ meta.Tx, d meta.Dumper, after string, limit int) ([]entry, error) {
			ks, err := d.Kinds()
			var out []entry
			for _, k := range ks {
				if k > after && len(out) < limit {
					out = append(out, entry{k, nil})
				}
			}
			return out, err
		},
		children: func(kind string) []section { return []section{records(kind)} },
	}
}

func records(kind string) section {
	return section{
		name:  "records",
		label: func(key string) string { return fmt.Sprintf("record %q of kind %q", key, kind) },
		list: func(tx meta.Tx, _ meta.Dumper, after string, limit int) ([]entry, error) {
			rs, err := tx.Records(kind).List(after, limit)
			out := entries(rs, recordKey)
			for i, r := range rs {
				out[i].val = r.Value
			}
			return out, err
		},
		restore: func(tx meta.Tx, _ meta.Restorer, e entry) error { return tx.Records(kind).Put(e.key, e.val.([]byte)) },
	}
}
