package metatest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/meta"
)

// update runs fn in s.Update and fails the test if it returns an error.
func update(t *testing.T, s meta.Store, fn func(meta.Tx) error) {
	t.Helper()
	if err := s.Update(t.Context(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// view runs fn in s.View and fails the test if it returns an error.
func view(t *testing.T, s meta.Store, fn func(meta.Tx) error) {
	t.Helper()
	if err := s.View(t.Context(), fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

// check fails the test if err is not nil.
func check(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// wantNotFound fails the test unless err wraps meta.ErrNotFound.
func wantNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("%s: got error %v, want meta.ErrNotFound", what, err)
	}
}

// dg returns a distinct, valid sha256 digest for name.
func dg(name string) digest.Digest { return digest.FromString(name) }

// zone is a non-UTC location: backends must keep the instant, not the zone.
var zone = time.FixedZone("UTC+2", 2*60*60)

// At returns a fixed instant n seconds after the suite's epoch, in a zone
// other than UTC and with a sub-second fraction, so that a backend or an
// encoding that drops the instant's precision is caught. Feature packages
// use it for the full records they hand RecordType.
func At(n int) time.Time {
	return time.Date(2025, 3, 14, 15, 9, 26, 535897000, zone).Add(time.Duration(n) * time.Second)
}

// at is At, for the suite's own cases.
func at(n int) time.Time { return At(n) }

// ensure creates the repositories names (if missing) in tx.
func ensure(t *testing.T, tx meta.Tx, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, _, err := tx.Repositories().Ensure(n); err != nil {
			t.Fatalf("Ensure(%q): %v", n, err)
		}
	}
}

// image returns a minimal image manifest record named name (its digest is
// dg(name)) with an optional subject.
func image(name string, subject digest.Digest) meta.Manifest {
	return meta.Manifest{
		Digest:    dg(name),
		MediaType: "application/vnd.oci.image.manifest.v1+json",
		Size:      int64(100 + len(name)),
		Subject:   subject,
		Config:    meta.Descriptor{MediaType: "application/vnd.oci.image.config.v1+json", Digest: dg("config-" + name), Size: 2},
		Layers:    []meta.Descriptor{{MediaType: "application/vnd.oci.image.layer.v1.tar+gzip", Digest: dg("layer-" + name), Size: 42}},
		PushedAt:  at(len(name)),
	}
}

// putManifests records ms in repo.
func putManifests(t *testing.T, tx meta.Tx, repo string, ms ...meta.Manifest) {
	t.Helper()
	for _, m := range ms {
		if err := tx.Manifests().Put(repo, m); err != nil {
			t.Fatalf("Manifests.Put(%q, %s): %v", repo, m.Digest, err)
		}
	}
}

// putTags points each tag at d in repo.
func putTags(t *testing.T, tx meta.Tx, repo string, d digest.Digest, tags ...string) {
	t.Helper()
	for _, tag := range tags {
		if err := tx.Tags().Put(repo, tag, d); err != nil {
			t.Fatalf("Tags.Put(%q, %q): %v", repo, tag, err)
		}
	}
}

// wantStrings fails the test unless got equals want (nil and empty are equal).
func wantStrings[S ~string](t *testing.T, what string, got, want []S) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got %q\nwant %q", what, got, want)
	}
}

// diffManifest describes how got differs from want, or returns "".
func diffManifest(got, want meta.Manifest) string {
	var d []string
	add := func(field string, g, w any) { d = append(d, fmt.Sprintf("%s: got %v, want %v", field, g, w)) }
	if got.Digest != want.Digest {
		add("Digest", got.Digest, want.Digest)
	}
	if got.MediaType != want.MediaType {
		add("MediaType", got.MediaType, want.MediaType)
	}
	if got.ArtifactType != want.ArtifactType {
		add("ArtifactType", got.ArtifactType, want.ArtifactType)
	}
	if got.Size != want.Size {
		add("Size", got.Size, want.Size)
	}
	if got.Subject != want.Subject {
		add("Subject", got.Subject, want.Subject)
	}
	if got.Config != want.Config {
		add("Config", got.Config, want.Config)
	}
	if !slices.Equal(got.Layers, want.Layers) {
		add("Layers", got.Layers, want.Layers)
	}
	if !slices.Equal(got.Manifests, want.Manifests) {
		add("Manifests", got.Manifests, want.Manifests)
	}
	if !maps.Equal(got.Annotations, want.Annotations) {
		add("Annotations", got.Annotations, want.Annotations)
	}
	if !got.PushedAt.Equal(want.PushedAt) {
		add("PushedAt", got.PushedAt, want.PushedAt)
	}
	return strings.Join(d, "; ")
}

// wantManifest fails the test unless got equals want field by field.
func wantManifest(t *testing.T, what string, got meta.Manifest, want meta.Manifest) {
	t.Helper()
	if d := diffManifest(got, want); d != "" {
		t.Errorf("%s: %s", what, d)
	}
}

// wantManifests fails the test unless got equals want element by element.
func wantManifests(t *testing.T, what string, got, want []meta.Manifest) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: got %d manifests %v, want %d %v", what, len(got), manifestDigests(got), len(want), manifestDigests(want))
		return
	}
	for i := range got {
		wantManifest(t, fmt.Sprintf("%s[%d]", what, i), got[i], want[i])
	}
}

// manifestDigests returns the digests of ms.
func manifestDigests(ms []meta.Manifest) []digest.Digest {
	out := make([]digest.Digest, len(ms))
	for i, m := range ms {
		out[i] = m.Digest
	}
	return out
}

// wantBlob fails the test unless got equals want.
func wantBlob(t *testing.T, what string, got, want meta.Blob) {
	t.Helper()
	if got.Digest != want.Digest || got.Size != want.Size || !got.CreatedAt.Equal(want.CreatedAt) {
		t.Errorf("%s: got %+v, want %+v", what, got, want)
	}
}

// wantUpload fails the test unless got equals want.
func wantUpload(t *testing.T, what string, got, want meta.Upload) {
	t.Helper()
	if got.ID != want.ID || got.Repository != want.Repository || got.Offset != want.Offset ||
		!bytes.Equal(got.HashState, want.HashState) || !bytes.Equal(got.DriverState, want.DriverState) ||
		!got.StartedAt.Equal(want.StartedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

// shuffled returns a copy of xs in a random order, so that insertion order
// never matches the order a listing must return.
func shuffled[T any](xs []T) []T {
	out := slices.Clone(xs)
	rand.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// sortedDigests returns the digests of names, sorted.
func sortedDigests(names ...string) []digest.Digest {
	out := make([]digest.Digest, len(names))
	for i, n := range names {
		out[i] = dg(n)
	}
	slices.Sort(out)
	return out
}

// pageAll pages through a listing with the given limit, each page fetched by
// list (typically in its own transaction), and checks that every page but
// the last is full and that a page after the last is empty. It returns the
// concatenated pages.
func pageAll[S ~string](t *testing.T, what string, limit int, list func(after S, limit int) []S) []S {
	t.Helper()
	var all []S
	var after S
	for pages := 0; ; pages++ {
		p := list(after, limit)
		if limit > 0 && len(p) > limit {
			t.Fatalf("%s: page %d has %d entries, limit %d", what, pages, len(p), limit)
		}
		if len(p) == 0 {
			return all
		}
		for _, x := range p {
			if len(all) > 0 && x <= all[len(all)-1] {
				t.Fatalf("%s: page %d: %q follows %q: not strictly increasing", what, pages, x, all[len(all)-1])
			}
			all = append(all, x)
		}
		if limit <= 0 || len(p) < limit {
			if rest := list(p[len(p)-1], limit); len(rest) != 0 {
				t.Fatalf("%s: short page %d (%d < %d) was not the last: then got %q", what, pages, len(p), limit, rest)
			}
			return all
		}
		after = p[len(p)-1]
	}
}

// sha512Digest returns the sha512 digest of name.
func sha512Digest(name string) digest.Digest { return digest.SHA512.FromString(name) }

// settleWait bounds how long viewSettled waits.
const settleWait = time.Minute

// viewSettled runs fn in a View, again and again, until it reports true:
// for reads of the event log past a gap, which a backend may hold back
// while a transaction that could fill the gap may still commit (see
// meta.Events.List). On a shared database server that includes writers
// the suite does not know of, so the suite waits for the gap to settle,
// failing only if it has not after settleWait. fn makes its checks on
// the View that returned true.
func viewSettled(t *testing.T, s meta.Store, what string, fn func(meta.Tx) (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(settleWait)
	for {
		var done bool
		view(t, s, func(tx meta.Tx) error {
			var err error
			done, err = fn(tx)
			return err
		})
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: the event log did not settle in %v", what, settleWait)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Put creates repository repo in s (if need be), puts manifest record m
// in it and points tags at it, in one transaction, failing the test on
// error: a fixture for the tests of features over the store.
func Put(t testing.TB, s meta.Store, repo string, m meta.Manifest, tags ...string) {
	t.Helper()
	err := s.Update(context.Background(), func(tx meta.Tx) error {
		if _, _, err := tx.Repositories().Ensure(repo); err != nil {
			return err
		}
		if err := tx.Manifests().Put(repo, m); err != nil {
			return err
		}
		for _, tag := range tags {
			if err := tx.Tags().Put(repo, tag, m.Digest); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("metatest: put %s@%s: %v", repo, m.Digest, err)
	}
}

// Tagged creates repository repo in s (if need be) with a manifest
// record whose digest is that of "repo:tag", tagged tag, and returns the
// digest: a fixture for tests of tag resolution.
func Tagged(t testing.TB, s meta.Store, repo, tag string) digest.Digest {
	t.Helper()
	d := digest.FromString(repo + ":" + tag)
	Put(t, s, repo, meta.Manifest{Digest: d, MediaType: "application/vnd.oci.image.manifest.v1+json"}, tag)
	return d
}
