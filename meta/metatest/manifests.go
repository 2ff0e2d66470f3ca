package metatest

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/meta"
)

// fullManifest returns a manifest record with every field set.
func fullManifest() meta.Manifest {
	return meta.Manifest{
		Digest:       dg("full"),
		MediaType:    "application/vnd.oci.image.manifest.v1+json",
		ArtifactType: "application/vnd.example.sbom+json",
		Size:         1234,
		Subject:      dg("the-subject"),
		Config:       meta.Descriptor{MediaType: "application/vnd.oci.image.config.v1+json", Digest: dg("cfg"), Size: 321},
		Layers: []meta.Descriptor{
			{MediaType: "application/vnd.oci.image.layer.v1.tar+gzip", Digest: dg("l1"), Size: 1 << 40},
			{MediaType: "application/vnd.oci.image.layer.v1.tar+zstd", Digest: dg("l2"), Size: 0},
			{Digest: dg("l3"), Size: 3},
		},
		Manifests: []meta.Descriptor{
			{MediaType: "application/vnd.oci.image.manifest.v1+json", Digest: dg("child1"), Size: 11},
			{MediaType: "application/vnd.oci.image.index.v1+json", Digest: dg("child2"), Size: 22},
		},
		Annotations: map[string]string{
			"org.opencontainers.image.created": "2025-03-14T15:09:26Z",
			"empty":                            "",
			"unicode ✓":                        "line1\nline2\t\"quoted\" ünï",
		},
		PushedAt: at(42),
	}
}

// testManifestsRoundTrip checks that Get returns every field Put stored.
func testManifestsRoundTrip(t *testing.T, s meta.Store) {
	full := fullManifest()
	index := meta.Manifest{
		Digest:    dg("index"),
		MediaType: "application/vnd.oci.image.index.v1+json",
		Size:      77,
		Manifests: []meta.Descriptor{{MediaType: "application/vnd.oci.image.manifest.v1+json", Digest: full.Digest, Size: full.Size}},
		PushedAt:  at(7),
	}
	bare := meta.Manifest{Digest: dg("bare"), MediaType: "application/vnd.docker.distribution.manifest.v2+json", Size: 1}
	update(t, s, func(tx meta.Tx) error {
		ensure(t, tx, "r")
		putManifests(t, tx, "r", full, index, bare)
		got, err := tx.Manifests().Get("r", full.Digest)
		check(t, "Get inside the Update", err)
		wantManifest(t, "full manifest inside the Update", got, full)
		return nil
	})
	view(t, s, func(tx meta.Tx) error {
		for _, want := range []meta.Manifest{full, index, bare} {
			got, err := tx.Manifests().Get("r", want.Digest)
			check(t, "Get", err)
			wantManifest(t, "round trip of "+string(want.Digest), got, want)
		}
		got, err := tx.Manifests().Get("r", bare.Digest)
		check(t, "Get(bare)", err)
		if !got.PushedAt.IsZero() || got.Subject != "" || got.Config != (meta.Descriptor{}) {
			t.Errorf("zero fields did not round-trip as zero: %+v", got)
		}
		return nil
	})
}

// testManifestsReplace checks that Put replaces a record with the same
// digest, keeps its tags, and moves its referrers-index entry with its
// subject.
func testManifestsReplace(t *testing.T, s meta.Store) {
	s1, s2 := dg("subject-1"), dg("subject-2")
	first := image("m", s1)
	first.Annotations = map[string]string{"a": "1", "gone": "x"}
	second := first
	second.Subject = s2
	second.Annotations = map[string]string{"a": "2"}
	second.ArtifactType = "application/vnd.example"
	second.Layers = nil
	second.PushedAt = at(1000)
	update(t, s, func(tx meta.Tx) error {
		ensure(t, tx, "r")
		putManifests(t, tx, "r", first)
		putTags(t, tx, "r", first.Digest, "t")
		return nil
	})
	update(t, s, func(tx meta.Tx) error {
		putManifests(t, tx, "r", second)
		return nil
	})
	view(t, s, func(tx meta.Tx) error {
		got, err := tx.Manifests().Get("r", first.Digest)
		check(t, "Get", err)
		wantManifest(t, "replaced manifest", got, second)
		ms, err := tx.Manifests().List("r", "", 0)
		check(t, "List", err)
		wantStrings(t, "manifests after replace", ms, []digest.Digest{first.Digest})
		if d, err := tx.Tags().Get("r", "t"); err != nil || d != first.Digest {
			t.Errorf("tag of replaced manifest: got %s, %v", d, err)
		}
		refs, err := tx.Manifests().Referrers("r", s1)
		check(t, "Referrers(old subject)", err)
		wantManifests(t, "referrers of the replaced record's subject", refs, nil)
		refs, err = tx.Manifests().Referrers("r", s2)
		check(t, "Referrers(new subject)", err)
		wantManifests(t, "referrers of the new subject", refs, []meta.Manifest{second})
		return nil
	})
	third := second
	third.Subject = ""
	update(t, s, func(tx meta.Tx) error {
		putManifests(t, tx, "r", third, third) // twice: Put is idempotent
		return nil
	})
	view(t, s, func(tx meta.Tx) error {
		refs, err := tx.Manifests().Referrers("r", s2)
		check(t, "Referrers", err)
		wantManifests(t, "referrers after the subject was dropped", refs, nil)
		got, err := tx.Manifests().Get("r", first.Digest)
		check(t, "Get", err)
		wantManifest(t, "manifest without subject", got, third)
		return nil
	})
}

// testManifestsDelete checks that deleting a manifest removes its tags (and
// only those), its referrers-index entry, and nothing it does not own.
func testManifestsDelete(t *testing.T, s meta.Store) {
	subject := dg("absent-subject")
	m := image("m", subject)
	other := image("other", "")
	ref := image("ref-of-m", m.Digest)
	sibling := image("sibling", subject)
	update(t, s, func(tx meta.Tx) error {
		ensure(t, tx, "r", "r2")
		putManifests(t, tx, "r", m, other, ref, sibling)
		putTags(t, tx, "r", m.Digest, "a", "b", "c")
		putTags(t, tx, "r", other.Digest, "keep", "b-")
		putManifests(t, tx, "r2", m)
		putTags(t, tx, "r2", m.Digest, "a")
		return nil
	})
	update(t, s, func(tx meta.Tx) error { return tx.Manifests().Delete("r", m.Digest) })
	view(t, s, func(tx meta.Tx) error {
		wantNotFound(t, "Get(deleted)", func() error { _, err := tx.Manifests().Get("r", m.Digest); return err }())
		for _, tag := range []string{"a", "b", "c"} {
			wantNotFound(t, "tag "+tag+" of deleted manifest", func() error { _, err := tx.Tags().Get("r", tag); return err }())
		}
		tags, err := tx.Tags().List("r", "", 0)
		check(t, "Tags.List", err)
		wantStrings(t, "remaining tags", tags, []string{"b-", "keep"})
		of, err := tx.Tags().Of("r", m.Digest)
		check(t, "Of", err)
		wantStrings(t, "Of(deleted)", of, nil)
		of, err = tx.Tags().Of("r", other.Digest)
		check(t, "Of", err)
		wantStrings(t, "Of(other)", of, []string{"b-", "keep"})
		refs, err := tx.Manifests().Referrers("r", subject)
		check(t, "Referrers(subject)", err)
		wantManifests(t, "referrers of the deleted manifest's subject", refs, []meta.Manifest{sibling})
		refs, err = tx.Manifests().Referrers("r", m.Digest)
		check(t, "Referrers(deleted)", err)
		wantManifests(t, "referrers of the deleted manifest (kept)", refs, []meta.Manifest{ref})
		ms, err := tx.Manifests().List("r", "", 0)
		check(t, "List", err)
		wantStrings(t, "manifests after delete", ms, sortedDigests("other", "ref-of-m", "sibling"))
		// The same digest in another repository is another record.
		if _, err := tx.Manifests().Get("r2", m.Digest); err != nil {
			t.Errorf("manifest in r2 after deleting it from r: %v", err)
		}
		if d, err := tx.Tags().Get("r2", "a"); err != nil || d != m.Digest {
			t.Errorf("tag in r2 after deleting the manifest from r: got %s, %v", d, err)
		}
		refs, err = tx.Manifests().Referrers("r2", subject)
		check(t, "Referrers in r2", err)
		wantManifests(t, "referrers in r2", refs, []meta.Manifest{m})
		return nil
	})
	update(t, s, func(tx meta.Tx) error {
		wantNotFound(t, "Delete twice", tx.Manifests().Delete("r", m.Digest))
		putManifests(t, tx, "r", m)
		return nil
	})
	view(t, s, func(tx meta.Tx) error {
		of, err := tx.Tags().Of("r", m.Digest)
		check(t, "Of", err)
		wantStrings(t, "tags of a re-pushed manifest (must not come back)", of, nil)
		return nil
	})
}

// testReferrers checks the referrers index: digest order, full records,
// scoping to the repository, absent subjects and deleted referrers.
func testReferrers(t *testing.T, s meta.Store) {
	subject := dg("not-pushed")
	var refs []meta.Manifest
	for i := range 6 {
		r := image(fmt.Sprintf("referrer-%d", i), subject)
		r.ArtifactType = fmt.Sprintf("application/vnd.example.%d", i)
		r.Annotations = map[string]string{"i": fmt.Sprint(i)}
		refs = append(refs, r)
	}
	byDigest := func(ms []meta.Manifest) []meta.Manifest {
		out := slices.Clone(ms)
		slices.SortFunc(out, func(a, b meta.Manifest) int { return strings.Compare(string(a.Digest), string(b.Digest)) })
		return out
	}
	unrelated := image("unrelated", dg("other-subject"))
	update(t, s, func(tx meta.Tx) error {
		ensure(t, tx, "r", "elsewhere", "empty")
		putManifests(t, tx, "r", shuffled(refs)...)
		putManifests(t, tx, "r", unrelated, image("plain", ""))
		putManifests(t, tx, "elsewhere", image("elsewhere-ref", subject))
		return nil
	})
	view(t, s, func(tx meta.Tx) error {
		got, err := tx.Manifests().Referrers("r", subject)
		check(t, "Referrers", err)
		wantManifests(t, "referrers in digest order", got, byDigest(refs))
		got, err = tx.Manifests().Referrers("elsewhere", subject)
		check(t, "Referrers(elsewhere)", err)
		wantManifests(t, "referrers in another repository", got, []meta.Manifest{image("elsewhere-ref", subject)})
		got, err = tx.Manifests().Referrers("empty", subject)
		check(t, "Referrers(empty)", err)
		wantManifests(t, "referrers in a repository without them", got, nil)
		got, err = tx.Manifests().Referrers("r", dg("nothing-refers-to-this"))
		check(t, "Referrers(unreferenced)", err)
		wantManifests(t, "referrers of an unreferenced digest", got, nil)
		got, err = tx.Manifests().Referrers("r", unrelated.Subject)
		check(t, "Referrers(other subject)", err)
		wantManifests(t, "referrers of the other subject", got, []meta.Manifest{unrelated})
		return nil
	})
	update(t, s, func(tx meta.Tx) error { return tx.Manifests().Delete("r", refs[2].Digest) })
	view(t, s, func(tx meta.Tx) error {
		got, err := tx.Manifests().Referrers("r", subject)
		check(t, "Referrers", err)
		wantManifests(t, "referrers after deleting one", got, byDigest(slices.Delete(slices.Clone(refs), 2, 3)))
		return nil
	})
}

// testManifestsList checks List's digest order and after/limit paging.
func testManifestsList(t *testing.T, s meta.Store) {
	var names []string
	for i := range 25 {
		names = append(names, fmt.Sprintf("m%d", i))
	}
	want := sortedDigests(names...)
	update(t, s, func(tx meta.Tx) error {
		ensure(t, tx, "r", "other")
		for _, n := range shuffled(names) {
			putManifests(t, tx, "r", image(n, ""))
		}
		putManifests(t, tx, "other", image("only-in-other", ""))
		return nil
	})
	view(t, s, func(tx meta.Tx) error {
		list := func(after digest.Digest, limit int) []digest.Digest {
			t.Helper()
			ds, err := tx.Manifests().List("r", after, limit)
			check(t, "Manifests.List", err)
			return ds
		}
		wantStrings(t, "List(\"\", 0)", list("", 0), want)
		wantStrings(t, "List(\"\", 5)", list("", 5), want[:5])
		wantStrings(t, "List(want[9], 3)", list(want[9], 3), want[10:13])
		wantStrings(t, "List(after last)", list(want[len(want)-1], 0), nil)
		// An "after" that is no digest in the list: "sha256:" sorts before every sha256 digest.
		wantStrings(t, "List(sha256:, 2)", list("sha256:", 2), want[:2])
		for _, limit := range []int{1, 4, 24, 25} {
			wantStrings(t, "paged manifests", pageAll(t, "manifests", limit, list), want)
		}
		return nil
	})
}
