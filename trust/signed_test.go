package trust_test

import (
	"context"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/internal/teststores"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/metatest"
	"github.com/berthreg/berth/trust"
)

// TestSigned: without trusted keys any cosign signature counts, in
// either form; with keys only one that verifies does; nothing is refused
// either way.
func TestSigned(t *testing.T) {
	teststores.Each(t, func(t *testing.T, open teststores.Opener) {
		e := newEnv(t, open)
		ctx := context.Background()
		signer, pub := newKey(t)
		stranger, _ := newKey(t)
		img := func(name string) meta.Manifest {
			m := meta.Manifest{Digest: digest.FromString(name), Size: 10}
			metatest.Put(t, e.store, "team/app", m, name)
			return m
		}
		legacy, bundled, unsigned, foreign := img("legacy"), img("bundled"), img("unsigned"), img("foreign")
		e.signLegacy(t, signer, "team/app", legacy.Digest)
		e.signBundle(t, signer, "team/app", bundled.Digest)
		e.signBundle(t, stranger, "team/app", foreign.Digest)
		check := func(when string, want map[string]bool) {
			t.Helper()
			for name, m := range map[string]meta.Manifest{"legacy": legacy, "bundled": bundled, "unsigned": unsigned, "foreign": foreign} {
				got, err := e.svc.Signed(ctx, "team/app", m.Digest)
				if err != nil || got != want[name] {
					t.Errorf("%s: Signed(%s) = %v, %v; want %v", when, name, got, err, want[name])
				}
			}
		}
		check("no keys", map[string]bool{"legacy": true, "bundled": true, "foreign": true})
		if _, err := e.svc.SetSettings(ctx, trust.Settings{Project: "team", Enabled: false, Keys: []string{pub}}); err != nil {
			t.Fatal(err)
		}
		check("with the signer's key", map[string]bool{"legacy": true, "bundled": true})
	})
}
