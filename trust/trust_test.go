package trust_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/dsse"

	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/internal/teststores"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/metatest"
	"github.com/berthreg/berth/registry"
	"github.com/berthreg/berth/registry/naming"
	"github.com/berthreg/berth/storage"
	"github.com/berthreg/berth/storage/memory"
	"github.com/berthreg/berth/trust"
	"github.com/berthreg/berth/trust/cosign"
)

type env struct {
	store  meta.Store
	driver storage.Driver
	svc    *trust.Service
	now    time.Time
}

func (e *env) blob(t testing.TB, b []byte) digest.Digest {
	t.Helper()
	d := digest.FromBytes(b)
	w, err := e.driver.Writer(t.Context(), storage.BlobPath(d), 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	return d
}

func newKey(t testing.TB) (signature.Signer, string) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := signature.LoadSigner(priv, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	pemKey, err := cryptoutils.MarshalPublicKeyToPEM(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	return s, string(pemKey)
}

// signLegacy stores cosign's legacy signature of d in repo: the .sig tag
// on a manifest whose layer is the payload, signed in an annotation.
func (e *env) signLegacy(t *testing.T, s signature.Signer, repo string, d digest.Digest) {
	t.Helper()
	payload := []byte(fmt.Sprintf(`{"critical":{"identity":{"docker-reference":%q},"image":{"docker-manifest-digest":%q},"type":"cosign container image signature"}}`, repo, d))
	sig, err := s.SignMessage(bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	pd := e.blob(t, payload)
	raw, _ := json.Marshal(map[string]any{"schemaVersion": 2, "layers": []map[string]any{{
		"mediaType": cosign.SimpleSigningType, "digest": pd, "size": len(payload),
		"annotations": map[string]string{cosign.SignatureAnnotation: base64.StdEncoding.EncodeToString(sig)}}}})
	md := e.blob(t, raw)
	metatest.Put(t, e.store, repo, meta.Manifest{Digest: md, Size: int64(len(raw)), Layers: []meta.Descriptor{{MediaType: cosign.SimpleSigningType, Digest: pd}}},
		naming.AttachmentTags(d)[0])
}

// signBundle stores cosign v3's signature of d: a bundle referrer.
func (e *env) signBundle(t testing.TB, s signature.Signer, repo string, d digest.Digest) {
	t.Helper()
	statement := fmt.Sprintf(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":%q}}],"predicateType":"https://sigstore.dev/cosign/sign/v1","predicate":{}}`, d.Encoded())
	envl, err := dsse.WrapSigner(s, "application/vnd.in-toto+json").SignMessage(bytes.NewReader([]byte(statement)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{"mediaType": cosign.BundleType,
		"verificationMaterial": map[string]any{"publicKey": map[string]string{"hint": "k"}}, "dsseEnvelope": json.RawMessage(envl)})
	bd := e.blob(t, b)
	metatest.Put(t, e.store, repo, meta.Manifest{Digest: digest.FromString("bundle manifest " + d.String() + string(b)), Size: 1, Subject: d,
		ArtifactType: cosign.BundleType, Layers: []meta.Descriptor{{MediaType: cosign.BundleType, Digest: bd}}})
}

// keyVerifier checks signatures with keys only.
var keyVerifier, _ = cosign.NewVerifier()

func newEnv(t *testing.T, open teststores.Opener) *env {
	t.Helper()
	e := &env{store: open(t), driver: memory.New(), now: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	if err := e.store.Update(t.Context(), func(tx meta.Tx) error {
		return accounts.Projects.In(tx).Put(accounts.Project{Name: "team"})
	}); err != nil {
		t.Fatal(err)
	}
	var err error
	e.svc, err = trust.New(e.store, e.driver, keyVerifier, trust.WithClock(func() time.Time { return e.now }))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// pull runs the gate's hook for a GET of m by a principal whose
// credentials allow push or not.
func pull(svc *trust.Service, repo string, m meta.Manifest, method string, canPush bool) error {
	r := httptest.NewRequest(method, "/v2/"+repo+"/manifests/"+m.Digest.String(), nil)
	ev := &registry.Event{Action: registry.ActionPullManifest, Repository: repo, Digest: m.Digest, Manifest: &m, Request: r,
		Allows: func(action string) bool { return canPush && action == "push" }}
	return svc.Hooks(nil).BeforePull(r.Context(), ev)
}

func wantRefused(t *testing.T, what string, err error, reason string) {
	t.Helper()
	var re *registry.Error
	if !errors.As(err, &re) || re.Status != http.StatusPreconditionFailed || re.Code != registry.CodePolicyViolation || !bytes.Contains([]byte(re.Message), []byte(reason)) {
		t.Fatalf("%s: %v, want 412 PROJECTPOLICYVIOLATION saying %q", what, err, reason)
	}
}

func TestGate(t *testing.T) {
	teststores.Each(t, func(t *testing.T, open teststores.Opener) {
		e := newEnv(t, open)
		ctx := context.Background()
		signer, pub := newKey(t)
		stranger, strangerPub := newKey(t)
		img := func(name string) meta.Manifest {
			m := meta.Manifest{Digest: digest.FromString(name), Size: 10}
			metatest.Put(t, e.store, "team/app", m, name)
			return m
		}
		legacy, bundled, unsigned, foreign := img("legacy"), img("bundled"), img("unsigned"), img("foreign")
		e.signLegacy(t, signer, "team/app", legacy.Digest)
		e.signBundle(t, signer, "team/app", bundled.Digest)
		e.signBundle(t, stranger, "team/app", foreign.Digest)

		// Off: everything passes.
		if err := pull(e.svc, "team/app", unsigned, http.MethodGet, false); err != nil {
			t.Fatalf("trust off: %v", err)
		}
		if _, err := e.svc.SetSettings(ctx, trust.Settings{Project: "team", Enabled: true, Keys: []string{pub}}); err != nil {
			t.Fatal(err)
		}
		for _, m := range []meta.Manifest{legacy, bundled} {
			if err := pull(e.svc, "team/app", m, http.MethodGet, false); err != nil {
				t.Errorf("signed %s: %v", m.Digest, err)
			}
		}
		wantRefused(t, "unsigned", pull(e.svc, "team/app", unsigned, http.MethodGet, false), "it has no cosign signature")
		wantRefused(t, "signed with another key", pull(e.svc, "team/app", foreign, http.MethodGet, false), "does not verify")
		// HEAD serves no content; who may push may read what it signs.
		if err := pull(e.svc, "team/app", unsigned, http.MethodHead, false); err != nil {
			t.Errorf("HEAD: %v", err)
		}
		if err := pull(e.svc, "team/app", unsigned, http.MethodGet, true); err != nil {
			t.Errorf("a pusher's GET: %v", err)
		}
		// Signing it lets it through (a refusal is not remembered).
		e.signLegacy(t, signer, "team/app", unsigned.Digest)
		if err := pull(e.svc, "team/app", unsigned, http.MethodGet, false); err != nil {
			t.Errorf("after signing: %v", err)
		}
		// A change of keys forgets what was verified.
		if _, err := e.svc.SetSettings(ctx, trust.Settings{Project: "team", Enabled: true, Keys: []string{strangerPub}}); err != nil {
			t.Fatal(err)
		}
		wantRefused(t, "legacy after the key changed", pull(e.svc, "team/app", legacy, http.MethodGet, false), "with the project's keys")
		if err := pull(e.svc, "team/app", foreign, http.MethodGet, false); err != nil {
			t.Errorf("foreign with its key: %v", err)
		}
		// A signature deleted stops counting once the result expires.
		if err := e.store.Update(ctx, func(tx meta.Tx) error {
			refs, err := tx.Manifests().Referrers("team/app", foreign.Digest)
			if err != nil || len(refs) != 1 {
				return fmt.Errorf("referrers %v: %w", refs, err)
			}
			return tx.Manifests().Delete("team/app", refs[0].Digest)
		}); err != nil {
			t.Fatal(err)
		}
		e.now = e.now.Add(2 * time.Minute)
		wantRefused(t, "after its signature went", pull(e.svc, "team/app", foreign, http.MethodGet, false), "no cosign signature")
	})
}

// pullTag is pull of m by tag.
func pullTag(svc *trust.Service, repo, tag string, m meta.Manifest) error {
	r := httptest.NewRequest(http.MethodGet, "/v2/"+repo+"/manifests/"+tag, nil)
	ev := &registry.Event{Action: registry.ActionPullManifest, Repository: repo, Digest: m.Digest, Tags: []string{tag}, Manifest: &m, Request: r,
		Allows: func(string) bool { return false }}
	return svc.Hooks(nil).BeforePull(r.Context(), ev)
}

// Signatures, attestations and SBOMs are pulled without a signature of
// their own (verifying needs them: an admission controller with pull-only
// credentials runs cosign verify), but an image is gated whatever it is
// tagged or refers to.
func TestGateLetsAccessoriesThrough(t *testing.T) {
	e := newEnv(t, teststores.Open)
	signer, pub := newKey(t)
	img := meta.Manifest{Digest: digest.FromString("image"), Size: 10}
	metatest.Put(t, e.store, "team/app", img, "v1")
	e.signLegacy(t, signer, "team/app", img.Digest)
	e.signBundle(t, signer, "team/app", img.Digest)
	if _, err := e.svc.SetSettings(t.Context(), trust.Settings{Project: "team", Enabled: true, Keys: []string{pub}}); err != nil {
		t.Fatal(err)
	}
	sigTag := naming.AttachmentTags(img.Digest)[0]
	var sig meta.Manifest
	var refs []meta.Manifest
	if err := e.store.View(t.Context(), func(tx meta.Tx) error {
		d, err := tx.Tags().Get("team/app", sigTag)
		if err != nil {
			return err
		}
		if sig, err = tx.Manifests().Get("team/app", d); err != nil {
			return err
		}
		refs, err = tx.Manifests().Referrers("team/app", img.Digest)
		return err
	}); err != nil || len(refs) != 1 {
		t.Fatalf("signatures: %v, %d referrers", err, len(refs))
	}
	if err := pullTag(e.svc, "team/app", sigTag, sig); err != nil {
		t.Errorf("the .sig manifest by its tag: %v", err)
	}
	if err := pull(e.svc, "team/app", sig, http.MethodGet, false); err != nil {
		t.Errorf("the .sig manifest by digest: %v", err)
	}
	if err := pull(e.svc, "team/app", refs[0], http.MethodGet, false); err != nil {
		t.Errorf("the bundle referrer: %v", err)
	}
	layer := meta.Descriptor{MediaType: "application/vnd.oci.image.layer.v1.tar+gzip", Digest: digest.FromString("fs")}
	disguised := meta.Manifest{Digest: digest.FromString("runnable"), Size: 10, Layers: []meta.Descriptor{layer}}
	metatest.Put(t, e.store, "team/app", disguised, "sha256-"+img.Digest.Encoded()+".att")
	wantRefused(t, "an image under an attachment tag", pullTag(e.svc, "team/app", "sha256-"+img.Digest.Encoded()+".att", disguised), "no cosign signature")
	referring := meta.Manifest{Digest: digest.FromString("runnable referrer"), Size: 10, Subject: img.Digest, Layers: []meta.Descriptor{layer}}
	metatest.Put(t, e.store, "team/app", referring)
	wantRefused(t, "an image with a subject", pull(e.svc, "team/app", referring, http.MethodGet, false), "no cosign signature")
}

func TestSettingsChecks(t *testing.T) {
	e := newEnv(t, teststores.Open)
	ctx := context.Background()
	_, pub := newKey(t)
	for what, c := range map[string]struct {
		st    trust.Settings
		field string
	}{
		"no key":     {trust.Settings{Project: "team", Enabled: true}, "keys"},
		"a bad key":  {trust.Settings{Project: "team", Enabled: true, Keys: []string{pub, "nope"}}, "keys[1]"},
		"many keys":  {trust.Settings{Project: "team", Keys: make([]string, trust.MaxKeys+1)}, "keys"},
		"no project": {trust.Settings{Project: "nope", Enabled: true, Keys: []string{pub}}, "project nope"},
		"an identity without a root": {trust.Settings{Project: "team", Enabled: true,
			Identities: []trust.Identity{{Issuer: "https://issuer.test", Subject: "dev@example.test"}}}, "identities[0]: cosign: keyless identities need a trusted root"},
		"an identity without issuer": {trust.Settings{Project: "team", Enabled: true,
			Identities: []trust.Identity{{Subject: "dev@example.test"}}}, "identities[0].issuer"},
		"an identity with both subjects": {trust.Settings{Project: "team", Enabled: true,
			Identities: []trust.Identity{{Issuer: "https://issuer.test", Subject: "a", SubjectRegExp: "b"}}}, "identities[0].subject"},
		"many identities": {trust.Settings{Project: "team", Identities: make([]trust.Identity, trust.MaxIdentities+1)}, "identities"},
	} {
		if _, err := e.svc.SetSettings(ctx, c.st); err == nil || !bytes.Contains([]byte(err.Error()), []byte(c.field)) {
			t.Errorf("%s: %v, want an error naming %s", what, err, c.field)
		}
	}
	if st, err := e.svc.Settings(ctx, "team"); err != nil || st.Enabled || len(st.Keys) != 0 {
		t.Fatalf("settings after refusals: %+v, %v", st, err)
	}
}
