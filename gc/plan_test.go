package gc

import (
	"slices"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/internal/teststores"
	"github.com/berthreg/berth/meta"
)

var (
	now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	old = now.Add(-48 * time.Hour)
)

func dg(s string) digest.Digest { return digest.FromString(s) }

func desc(s string) meta.Descriptor { return meta.Descriptor{Digest: dg(s), Size: int64(len(s))} }

// image is an image manifest record with config c and layers.
func image(name, c string, subject digest.Digest, pushed time.Time, layers ...string) meta.Manifest {
	m := meta.Manifest{Digest: dg(name), MediaType: "application/vnd.oci.image.manifest.v1+json", Size: 100,
		Config: desc(c), Subject: subject, PushedAt: pushed}
	for _, l := range layers {
		m.Layers = append(m.Layers, desc(l))
	}
	return m
}

func index(name string, pushed time.Time, children ...string) meta.Manifest {
	m := meta.Manifest{Digest: dg(name), MediaType: "application/vnd.oci.image.index.v1+json", Size: 200, PushedAt: pushed}
	for _, c := range children {
		m.Manifests = append(m.Manifests, meta.Descriptor{Digest: dg(c)})
	}
	return m
}

// fixture is a registry's metadata: team/app with tagged, untagged,
// indexed, nested and signed manifests; other/x sharing a layer; blobs
// referenced and not, old and recent; idle and fresh uploads.
func fixture(t *testing.T) meta.Store {
	t.Helper()
	s := teststores.Open(t)
	app := []meta.Manifest{
		image("A", "cA", "", old, "l1", "l2"),
		image("B", "cB", "", old, "l3"),                   // untagged
		image("C1", "cC", "", old, "l4"),                  // child of I
		image("C2", "cC", "", old, "l5"),                  // child of I
		index("I", old, "C1", "C2"),                       // tagged multi
		image("C3", "cC", "", old, "l6"),                  // grandchild of N
		index("N2", old, "C3"),                            // child of N
		index("N", old, "N2"),                             // tagged nested
		image("S", "sigcfg", dg("A"), old, "sig-a"),       // cosign-style signature of A
		image("SS", "sigcfg", dg("S"), old, "sig-s"),      // a signature of the signature
		image("S2", "sigcfg", dg("B"), old, "sig-b"),      // signature of untagged B
		image("R", "cR", "", now.Add(-time.Minute), "l7"), // untagged but recent
		image("LA", "sigcfg", "", old, "legacy-a"),        // cosign legacy signature of A (by tag)
		image("LB", "sigcfg", "", old, "legacy-b"),        // cosign legacy signature of B (by tag)
	}
	tags := map[string]string{"v1": "A", "multi": "I", "nested": "N",
		"sha256-" + dg("A").Encoded() + ".sig": "LA", "sha256-" + dg("B").Encoded() + ".sig": "LB"}
	blobs := map[string]time.Time{
		"cA": old, "l1": old, "l2": old, "cB": old, "l3": old, "cC": old, "l4": old, "l5": old, "l6": old,
		"sigcfg": old, "sig-a": old, "sig-s": old, "sig-b": old, "cR": old, "l7": old,
		"orphan": old, "fresh-orphan": now.Add(-time.Minute), "ox": old, "legacy-a": old, "legacy-b": old,
	}
	err := s.Update(t.Context(), func(tx meta.Tx) error {
		for _, r := range []string{"team/app", "other/x"} {
			if _, _, err := tx.Repositories().Ensure(r); err != nil {
				return err
			}
		}
		for name, at := range blobs {
			if err := tx.Blobs().Link("team/app", meta.Blob{Digest: dg(name), Size: int64(len(name)), CreatedAt: at}); err != nil {
				return err
			}
		}
		for _, m := range app {
			if err := tx.Manifests().Put("team/app", m); err != nil {
				return err
			}
		}
		for tag, m := range tags {
			if err := tx.Tags().Put("team/app", tag, dg(m)); err != nil {
				return err
			}
		}
		// other/x: an untagged image sharing l1, outside project team.
		if err := tx.Manifests().Put("other/x", image("X", "ox", "", old, "l1")); err != nil {
			return err
		}
		for _, u := range []meta.Upload{
			{ID: "idle", Repository: "team/app", StartedAt: old, UpdatedAt: old},
			{ID: "fresh", Repository: "team/app", StartedAt: old, UpdatedAt: now.Add(-time.Hour)},
		} {
			if err := tx.Uploads().Put(u); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func names(p Plan) (manifests, blobs, uploads []string) {
	rev := map[digest.Digest]string{}
	for _, n := range []string{"A", "B", "C1", "C2", "I", "C3", "N2", "N", "S", "SS", "S2", "R", "X", "LA", "LB", "legacy-a", "legacy-b",
		"cA", "l1", "l2", "cB", "l3", "cC", "l4", "l5", "l6", "sigcfg", "sig-a", "sig-s", "sig-b", "cR", "l7", "orphan", "fresh-orphan", "ox"} {
		rev[dg(n)] = n
	}
	for _, m := range p.Manifests {
		manifests = append(manifests, m.Repository+"@"+rev[m.Digest])
	}
	for _, b := range p.Blobs {
		blobs = append(blobs, rev[b.Digest])
	}
	for _, u := range p.Uploads {
		uploads = append(uploads, u.ID)
	}
	slices.Sort(manifests)
	slices.Sort(blobs)
	return
}

// TestPlanKeepsWhatTagsReach: with untagged manifests deleted, what goes is
// the untagged image, its signature and what only they reference; index
// children (nested too), signatures of kept images (and theirs), recent
// pushes and blobs within the grace window stay.
func TestPlanKeepsWhatTagsReach(t *testing.T) {
	s := fixture(t)
	p, err := MakePlan(t.Context(), s, Options{DeleteUntagged: true}, now)
	if err != nil {
		t.Fatal(err)
	}
	ms, bs, us := names(p)
	if want := []string{"other/x@X", "team/app@B", "team/app@LB", "team/app@S2"}; !slices.Equal(ms, want) {
		t.Errorf("manifests %v, want %v", ms, want)
	}
	if want := []string{"cB", "l3", "legacy-b", "orphan", "ox", "sig-b"}; !slices.Equal(bs, want) {
		t.Errorf("blobs %v, want %v", bs, want)
	}
	if want := []string{"idle"}; !slices.Equal(us, want) {
		t.Errorf("uploads %v, want %v", us, want)
	}
	if want := int64(4*100) + int64(len("cB")+len("l3")+len("legacy-b")+len("orphan")+len("ox")+len("sig-b")); p.Bytes() != want {
		t.Errorf("Bytes = %d, want %d", p.Bytes(), want)
	}
	if p.MarkedManifests != 11 {
		t.Errorf("marked %d manifests, want 11", p.MarkedManifests)
	}
	// The attachment goes after its subject: the sweep re-checks it.
	var order []string
	for _, m := range p.Manifests {
		order = append(order, m.Repository+"@"+m.Digest.String())
	}
	if slices.Index(order, "team/app@"+dg("LB").String()) < slices.Index(order, "team/app@"+dg("B").String()) {
		t.Errorf("the legacy signature is planned before its subject: %v", order)
	}
}

// TestPlanScopesAndGrace: without DeleteUntagged every manifest is kept;
// a project scope protects other projects' untagged manifests (and their
// blobs); no grace window makes the recent ones go too.
func TestPlanScopesAndGrace(t *testing.T) {
	s := fixture(t)
	p, err := MakePlan(t.Context(), s, Options{}, now)
	if err != nil {
		t.Fatal(err)
	}
	ms, bs, _ := names(p)
	if len(ms) != 0 || !slices.Equal(bs, []string{"orphan"}) {
		t.Errorf("keeping untagged: manifests %v, blobs %v", ms, bs)
	}
	p, err = MakePlan(t.Context(), s, Options{DeleteUntagged: true, Projects: []string{"team"}}, now)
	if err != nil {
		t.Fatal(err)
	}
	ms, bs, _ = names(p)
	if !slices.Equal(ms, []string{"team/app@B", "team/app@LB", "team/app@S2"}) || slices.Contains(bs, "ox") {
		t.Errorf("project scope: manifests %v, blobs %v", ms, bs)
	}
	p, err = MakePlan(t.Context(), s, Options{DeleteUntagged: true, Grace: -1}, now)
	if err != nil {
		t.Fatal(err)
	}
	ms, bs, _ = names(p)
	if !slices.Contains(ms, "team/app@R") || !slices.Contains(bs, "fresh-orphan") || !slices.Contains(bs, "l7") {
		t.Errorf("no grace: manifests %v, blobs %v", ms, bs)
	}
}
