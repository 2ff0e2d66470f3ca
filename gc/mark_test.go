package gc

import (
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/registry/naming"
)

func sig(subject string) string { return naming.AttachmentTags(dg(subject))[0] }

func TestKeptRegardless(t *testing.T) {
	cutoff := now.Add(-time.Hour)
	for _, c := range []struct {
		name       string
		pushed     time.Time
		untaggedGo bool
		want       bool
	}{
		{"untagged stay: old", old, false, true},
		{"untagged stay: recent", now, false, true},
		{"untagged go: old", old, true, false},
		{"untagged go: just before the cutoff", cutoff.Add(-time.Nanosecond), true, false},
		{"untagged go: at the cutoff", cutoff, true, true},
		{"untagged go: recent", now, true, true},
	} {
		if got := keptRegardless(meta.Manifest{PushedAt: c.pushed}, c.untaggedGo, cutoff); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestRoleByTags(t *testing.T) {
	for _, c := range []struct {
		name    string
		tags    []string
		role    role
		subject digest.Digest
	}{
		{"untagged", nil, roleCandidate, ""},
		{"tagged", []string{"v1"}, roleRoot, ""},
		{"a signature", []string{sig("A")}, roleAttachment, dg("A")},
		{"signature, attestation, sbom", naming.AttachmentTags(dg("A")), roleAttachment, dg("A")},
		{"a signature and a tag", []string{sig("A"), "latest"}, roleRoot, ""},
		{"a tag and a signature", []string{"latest", sig("A")}, roleRoot, ""},
		{"signatures of two subjects: the last", []string{sig("A"), sig("B")}, roleAttachment, dg("B")},
		{"not a digest", []string{"sha256-abc.sig"}, roleRoot, ""},
	} {
		r, subject := roleByTags(c.tags)
		if r != c.role || subject != c.subject {
			t.Errorf("%s: %v %s, want %v %s", c.name, r, subject, c.role, c.subject)
		}
	}
}

// marked runs the pure steps of the mark over ms with the tags given.
func marked(t *testing.T, ms []meta.Manifest, tags map[string][]string, untaggedGo bool) (roots, kept, drop []string, asked []string) {
	t.Helper()
	name := map[digest.Digest]string{}
	byDigest := map[digest.Digest][]string{}
	for _, m := range ms {
		for n := range tags {
			if dg(n) == m.Digest {
				byDigest[m.Digest] = tags[n]
			}
		}
	}
	for _, n := range []string{"A", "B", "I", "C1", "C2", "S", "SS", "LA", "R", "X", "Y"} {
		name[dg(n)] = n
	}
	g := newGraph(ms)
	rs, err := g.roots(func(d digest.Digest) ([]string, error) {
		asked = append(asked, name[d])
		return byDigest[d], nil
	}, untaggedGo, now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range rs {
		roots = append(roots, name[d])
	}
	k, dr := g.partition(g.reach(rs))
	for _, m := range k {
		kept = append(kept, name[m.Digest])
	}
	for _, m := range dr {
		drop = append(drop, name[m.Digest])
	}
	slices.Sort(roots)
	slices.Sort(kept)
	slices.Sort(asked)
	return roots, kept, drop, asked
}

func TestMarkSteps(t *testing.T) {
	ms := []meta.Manifest{
		image("A", "cA", "", old, "l1"),
		image("B", "cB", "", old),                   // untagged
		index("I", old, "C1", "C2", "gone"),         // tagged index, one child not here
		image("C1", "cC", "", old),                  // child of I
		image("C2", "cC", "", old),                  // child of I
		image("S", "sig", dg("A"), old),             // referrer of A
		image("SS", "sig", dg("S"), old),            // referrer of the referrer
		image("LA", "sig", "", old),                 // tagged as A's signature
		image("R", "cR", "", now.Add(-time.Minute)), // untagged but recent
		image("X", "sig", "", old),                  // tagged as the signature of B (untagged, goes)
		image("Y", "sig", dg("Y"), old),             // its own subject: a cycle, untagged
	}
	tags := map[string][]string{"A": {"v1"}, "I": {"multi"}, "LA": {sig("A")}, "X": {sig("B")}}

	roots, kept, drop, asked := marked(t, ms, tags, true)
	if want := []string{"A", "I", "R"}; !slices.Equal(roots, want) {
		t.Errorf("roots %v, want %v", roots, want)
	}
	if want := []string{"A", "C1", "C2", "I", "LA", "R", "S", "SS"}; !slices.Equal(kept, want) {
		t.Errorf("kept %v, want %v", kept, want)
	}
	// Digest order, the attachment X last.
	wantDrop := []string{"B", "Y"}
	if dg("Y") < dg("B") {
		wantDrop = []string{"Y", "B"}
	}
	if want := append(wantDrop, "X"); !slices.Equal(drop, want) {
		t.Errorf("drop %v, want %v", drop, want)
	}
	// Tags are read only where they decide: not for R, in the grace window.
	if want := []string{"A", "B", "C1", "C2", "I", "LA", "S", "SS", "X", "Y"}; !slices.Equal(asked, want) {
		t.Errorf("tags read for %v, want %v", asked, want)
	}

	// Untagged manifests stay: everything is a root, no tag is read.
	roots, kept, drop, asked = marked(t, ms, tags, false)
	if len(roots) != len(ms) || len(kept) != len(ms) || len(drop) != 0 || len(asked) != 0 {
		t.Errorf("untagged stay: roots %v, kept %v, drop %v, tags read for %v", roots, kept, drop, asked)
	}
}

func TestReachFollowsEdgesOnce(t *testing.T) {
	g := newGraph([]meta.Manifest{
		index("I", old, "C1", "I"), // lists itself
		image("C1", "c", "", old),
		image("S", "sig", dg("C1"), old),
		image("SS", "sig", dg("S"), old),
		image("X", "c", "", old),
	})
	g.attached[dg("SS")] = []digest.Digest{dg("X")}
	keep := g.reach([]digest.Digest{dg("I"), dg("I"), dg("missing")})
	want := map[digest.Digest]bool{dg("I"): true, dg("C1"): true, dg("S"): true, dg("SS"): true, dg("X"): true}
	if !maps.Equal(keep, want) {
		t.Errorf("reach = %v, want %v", keep, want)
	}
	if keep := g.reach(nil); len(keep) != 0 {
		t.Errorf("reach from nothing = %v", keep)
	}
}

func TestRootsStopsAtATagError(t *testing.T) {
	g := newGraph([]meta.Manifest{image("A", "c", "", old)})
	boom := errors.New("boom")
	if _, err := g.roots(func(digest.Digest) ([]string, error) { return nil, boom }, true, now); !errors.Is(err, boom) {
		t.Errorf("err %v, want boom", err)
	}
}
