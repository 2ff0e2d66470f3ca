package metacopy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/meta"
)

// Difference is one thing two stores disagree on.
type Difference struct {
	// What names it: `tag "v1" in "lib/app"`, "event 42", "job counter".
	What string
	// A and B show what each store holds there; "" when it holds nothing.
	A, B string
}

// String says what differs and how.
func (d Difference) String() string {
	switch {
	case d.B == "":
		return fmt.Sprintf("%s: only in a: %s", d.What, d.A)
	case d.A == "":
		return fmt.Sprintf("%s: only in b: %s", d.What, d.B)
	}
	return fmt.Sprintf("%s: a has %s, b has %s", d.What, d.A, d.B)
}

// errEnough stops a comparison that has listed its maximum.
var errEnough = errors.New("enough differences")

// Compare compares every listing of a and b and returns where they
// differ, up to WithMaxDifferences (none: b holds what a holds). It
// compares what Copy copies, each store read in one View: repositories
// with their manifests, tags and blob links, and the two indexes the
// stores derive from them (the tags of each manifest and the referrers of
// each subject); blob records, tombstones, claims, upload sessions,
// events, cursors, jobs, record kinds and records; and garbage
// collection's window. Times are compared to the microsecond, and empty
// values as absent. The counters of events and jobs differ only where b's
// is below a's: b would number new events or jobs among a's. Both stores'
// transactions must implement meta.Porter (else ErrNotPortable).
func Compare(ctx context.Context, a, b meta.Store, opts ...Option) ([]Difference, error) {
	c := &comparer{o: newOptions(opts)}
	err := a.View(ctx, func(ta meta.Tx) error {
		pa, ok := ta.(meta.Porter)
		if !ok {
			return fmt.Errorf("store a: %w (%T)", ErrNotPortable, ta)
		}
		return b.View(ctx, func(tb meta.Tx) error {
			pb, ok := tb.(meta.Porter)
			if !ok {
				return fmt.Errorf("store b: %w (%T)", ErrNotPortable, tb)
			}
			return c.all(ta, pa.Dump(), tb, pb.Dump())
		})
	})
	if errors.Is(err, errEnough) {
		err = nil
	}
	return c.diffs, err
}

// comparer collects the differences of one Compare.
type comparer struct {
	o     options
	diffs []Difference
}

// add records d, and errEnough once the maximum is reached.
func (c *comparer) add(d Difference) error {
	c.diffs = append(c.diffs, d)
	if len(c.diffs) >= c.o.maxDiffs {
		return errEnough
	}
	return nil
}

// all compares the counters, the collection window and every section.
func (c *comparer) all(ta meta.Tx, da meta.Dumper, tb meta.Tx, db meta.Dumper) error {
	sa, err := da.Sequences()
	if err != nil {
		return fmt.Errorf("meta/metacopy: store a: sequences: %w", err)
	}
	sb, err := db.Sequences()
	if err != nil {
		return fmt.Errorf("meta/metacopy: store b: sequences: %w", err)
	}
	for _, n := range []struct {
		what string
		a, b uint64
	}{{"event counter", sa.Events, sb.Events}, {"job counter", sa.Jobs, sb.Jobs}} {
		if n.b < n.a {
			if err := c.add(Difference{n.what, fmt.Sprintf("at %d", n.a), fmt.Sprintf("at %d, below a's", n.b)}); err != nil {
				return err
			}
		}
	}
	if err := c.collection(ta, tb); err != nil {
		return err
	}
	for _, s := range topSections() {
		if err := c.merge(s, ta, da, tb, db); err != nil {
			return err
		}
	}
	return nil
}

// collection compares whether a collection is active, and since when.
func (c *comparer) collection(ta, tb meta.Tx) error {
	show := func(tx meta.Tx, which string) (string, error) {
		since, active, err := tx.Collector().Collection().Active()
		switch {
		case err != nil:
			return "", fmt.Errorf("meta/metacopy: store %s: collection: %w", which, err)
		case !active:
			return "inactive", nil
		}
		return "active since " + render(since), nil
	}
	a, err := show(ta, "a")
	if err != nil {
		return err
	}
	b, err := show(tb, "b")
	if err != nil {
		return err
	}
	if a != b {
		return c.add(Difference{"garbage collection", a, b})
	}
	return nil
}

// merge walks section s of both stores in key order, side by side.
func (c *comparer) merge(s section, ta meta.Tx, da meta.Dumper, tb meta.Tx, db meta.Dumper) error {
	pa := &pager{limit: c.o.batch, list: func(after string) ([]entry, error) { return s.list(ta, da, after, c.o.batch) }}
	pb := &pager{limit: c.o.batch, list: func(after string) ([]entry, error) { return s.list(tb, db, after, c.o.batch) }}
	for {
		ea, err := pa.peek()
		if err != nil {
			return fmt.Errorf("meta/metacopy: store a: %s: %w", s.name, err)
		}
		eb, err := pb.peek()
		if err != nil {
			return fmt.Errorf("meta/metacopy: store b: %s: %w", s.name, err)
		}
		var order int
		switch {
		case ea == nil && eb == nil:
			return nil
		case ea == nil:
			order = 1
		case eb == nil:
			order = -1
		default:
			order = strings.Compare(ea.key, eb.key)
			if s.reverse {
				order = -order
			}
		}
		switch {
		case order < 0:
			err = c.add(Difference{What: s.label(ea.key), A: render(ea.val)})
			pa.next()
		case order > 0:
			err = c.add(Difference{What: s.label(eb.key), B: render(eb.val)})
			pb.next()
		default:
			err = c.same(s, ta, da, tb, db, *ea, *eb)
			pa.next()
			pb.next()
		}
		if err != nil {
			return err
		}
	}
}

// same compares an entry both stores hold: its record, its children and
// what it implies.
func (c *comparer) same(s section, ta meta.Tx, da meta.Dumper, tb meta.Tx, db meta.Dumper, ea, eb entry) error {
	if !equal(ea.val, eb.val) {
		if err := c.add(Difference{s.label(ea.key), render(ea.val), render(eb.val)}); err != nil {
			return err
		}
	}
	if s.children != nil {
		for _, ch := range s.children(ea.key) {
			if err := c.merge(ch, ta, da, tb, db); err != nil {
				return err
			}
		}
	}
	if s.also == nil {
		return nil
	}
	ds, err := s.also(ta, tb, ea, eb)
	for _, d := range ds {
		if err := c.add(d); err != nil {
			return err
		}
	}
	return err
}

// pager reads a listing page by page.
type pager struct {
	list  func(after string) ([]entry, error)
	limit int
	buf   []entry
	after string
	done  bool
}

// peek returns the next entry, nil at the end.
func (p *pager) peek() (*entry, error) {
	for len(p.buf) == 0 && !p.done {
		page, err := p.list(p.after)
		if err != nil {
			return nil, err
		}
		p.buf, p.done = page, len(page) < p.limit
		if len(page) > 0 {
			p.after = page[len(page)-1].key
		}
	}
	if len(p.buf) == 0 {
		return nil, nil
	}
	return &p.buf[0], nil
}

// next moves past the entry peek returned.
func (p *pager) next() { p.buf = p.buf[1:] }

// indexesOf compares, for each manifest of repo both stores hold, the
// indexes the stores keep beside the records: the manifest's tags
// (Tags.Of) and the referrers of its subject (each subject once).
func indexesOf(repo string) func(ta, tb meta.Tx, ea, eb entry) ([]Difference, error) {
	seen := map[digest.Digest]bool{}
	return func(ta, tb meta.Tx, ea, eb entry) ([]Difference, error) {
		d := digest.Digest(ea.key)
		var out []Difference
		oa, err := ta.Tags().Of(repo, d)
		if err != nil {
			return out, fmt.Errorf("meta/metacopy: store a: tags of %s in %q: %w", d, repo, err)
		}
		ob, err := tb.Tags().Of(repo, d)
		if err != nil {
			return out, fmt.Errorf("meta/metacopy: store b: tags of %s in %q: %w", d, repo, err)
		}
		if !equal(oa, ob) {
			out = append(out, Difference{fmt.Sprintf("tags of manifest %s in %q", d, repo), render(oa), render(ob)})
		}
		for _, subject := range []digest.Digest{ea.val.(meta.Manifest).Subject, eb.val.(meta.Manifest).Subject} {
			if subject == "" || seen[subject] {
				continue
			}
			seen[subject] = true
			ra, err := referrers(ta, repo, subject)
			if err != nil {
				return out, fmt.Errorf("meta/metacopy: store a: %w", err)
			}
			rb, err := referrers(tb, repo, subject)
			if err != nil {
				return out, fmt.Errorf("meta/metacopy: store b: %w", err)
			}
			if !slices.Equal(ra, rb) {
				out = append(out, Difference{fmt.Sprintf("referrers of %s in %q", subject, repo), render(ra), render(rb)})
			}
		}
		return out, nil
	}
}

// referrers returns the digests of the referrers of subject in repo.
func referrers(tx meta.Tx, repo string, subject digest.Digest) ([]digest.Digest, error) {
	ms, err := tx.Manifests().Referrers(repo, subject)
	if err != nil {
		return nil, fmt.Errorf("referrers of %s in %q: %w", subject, repo, err)
	}
	out := make([]digest.Digest, len(ms))
	for i, m := range ms {
		out[i] = m.Digest
	}
	return out, nil
}
