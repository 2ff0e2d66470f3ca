package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestContentTrust signs images with cosign and turns content trust on:
// for a robot that may only pull, an image signed with the project's key
// (as a referrer bundle, cosign v3's default, or with the legacy .sig
// tag) is pulled; an unsigned one, or one signed with another key, is
// refused with 412 PROJECTPOLICYVIOLATION. The admin, who may push,
// still signs the unsigned one (cosign reads the manifest it signs),
// after which the robot pulls it.
func TestContentTrust(t *testing.T) {
	t.Parallel()
	e, api := newAdminEnv(t)
	project := "trust-" + randHex(4)
	api.call("POST", "/projects", map[string]any{"project_name": project}, http.StatusCreated)
	repo := project + "/app"

	password := "COSIGN_PASSWORD=berth-e2e-" + randHex(4)
	keys, otherKeys := t.TempDir(), t.TempDir()
	e.runCmd(cmd{name: "cosign", dir: keys, env: []string{password}, args: []string{"generate-key-pair"}})
	e.runCmd(cmd{name: "cosign", dir: otherKeys, env: []string{password}, args: []string{"generate-key-pair"}})
	sign := func(keyDir, digest string, extra ...string) {
		args := []string{"sign", "--key", filepath.Join(keyDir, "cosign.key"), "--yes",
			"--use-signing-config=false", "--tlog-upload=false", "--allow-http-registry", "--allow-insecure-registry"}
		e.runCmd(cmd{name: "cosign", env: []string{password}, args: append(append(args, extra...), e.ref(repo, "@"+digest))})
	}
	push := func(tag string) *image { return pushSmall(e, repo, tag) }
	bundled, legacy, unsigned, stranger := push("bundled"), push("legacy"), push("unsigned"), push("stranger")
	sign(keys, bundled.Digest)
	sign(keys, legacy.Digest, "--new-bundle-format=false")
	sign(otherKeys, stranger.Digest)

	pub := string(readFile(t, filepath.Join(keys, "cosign.pub")))
	api.call("PUT", "/projects/"+project+"/trust", map[string]any{"enabled": true, "keys": []string{pub}}, http.StatusOK)

	robot, secret := api.robot(project, "deploy", project+"/**", nil, "pull")
	e.login(robot, secret)
	for _, tag := range []string{"bundled", "legacy"} {
		e.run("crane", "manifest", "--insecure", e.ref(repo, ":"+tag))
	}
	for _, tag := range []string{"unsigned", "stranger"} {
		stderr := e.fails("crane", "manifest", "--insecure", e.ref(repo, ":"+tag))
		if !strings.Contains(stderr, "PROJECTPOLICYVIOLATION") || !strings.Contains(stderr, "not signed by a key or identity project "+project+" trusts") {
			t.Fatalf("pull of %s refused for another reason:\n%s", tag, clip(stderr))
		}
	}
	// A pull refused before signing is let through after it.
	e.login(api.user, api.pass)
	sign(keys, unsigned.Digest)
	e.login(robot, secret)
	e.run("crane", "manifest", "--insecure", e.ref(repo, ":unsigned"))
	// Turning trust off lets everything through.
	api.call("PUT", "/projects/"+project+"/trust", map[string]any{"enabled": false, "keys": []string{pub}}, http.StatusOK)
	e.run("crane", "manifest", "--insecure", e.ref(repo, ":stranger"))
	// A key that is not one is refused, naming the field.
	out := api.call("PUT", "/projects/"+project+"/trust", map[string]any{"enabled": true, "keys": []string{"not a key"}}, http.StatusBadRequest)
	if !strings.Contains(string(out), "keys[0]") {
		t.Fatalf("bad key not named: %s", out)
	}
}

// pushSmall pushes a small image to repo:tag with crane.
func pushSmall(e *clientEnv, repo, tag string) *image {
	e.t.Helper()
	img := newImage(e.t, "amd64", 16<<10)
	layout := filepath.Join(e.t.TempDir(), "layout")
	writeImageLayout(e.t, layout, tag, img)
	e.run("crane", "push", "--insecure", layout, e.ref(repo, ":"+tag))
	return img
}

// TestKeylessTrust signs with a certificate instead of a project key, as
// cosign's keyless signing does: the registry under test trusts the
// private certificate authority scripts/keyless.sh made (its trusted
// root, BERTH_TRUST_TRUSTED_ROOT), and the project trusts an identity
// (issuer and subject) instead of a key. A signature whose certificate
// that authority issued to the identity is let through, in both of
// cosign's forms; one from another authority, for the same identity, is
// refused, and so is the first once the project trusts another subject.
// cosign verify agrees with each verdict.
func TestKeylessTrust(t *testing.T) {
	t.Parallel()
	fixture := os.Getenv("BERTH_E2E_KEYLESS")
	if fixture == "" {
		t.Skip("BERTH_E2E_KEYLESS is unset: the registry under test has no trusted root (scripts/keyless.sh)")
	}
	const issuer, subject = "https://issuer.e2e.test", "dev@e2e.test"
	e, api := newAdminEnv(t)
	project := "keyless-" + randHex(4)
	api.call("POST", "/projects", map[string]any{"project_name": project}, http.StatusCreated)
	repo := project + "/app"

	password := "COSIGN_PASSWORD=berth-e2e-" + randHex(4)
	keys := t.TempDir()
	for _, who := range []string{"dev", "stranger"} {
		e.runCmd(cmd{name: "cosign", dir: keys, env: []string{password}, args: []string{"import-key-pair",
			"--key", filepath.Join(fixture, who+".key"), "--output-key-prefix", who}})
	}
	chain := map[string]string{"dev": "ca.pem", "stranger": "stranger-ca.pem"}
	sign := func(who, digest string, extra ...string) {
		args := []string{"sign", "--key", filepath.Join(keys, who+".key"),
			"--certificate", filepath.Join(fixture, who+".pem"), "--certificate-chain", filepath.Join(fixture, chain[who]), "--yes",
			"--use-signing-config=false", "--tlog-upload=false", "--allow-http-registry", "--allow-insecure-registry"}
		e.runCmd(cmd{name: "cosign", env: []string{password}, args: append(append(args, extra...), e.ref(repo, "@"+digest))})
	}
	push := func(tag string) *image { return pushSmall(e, repo, tag) }
	bundled, legacy := push("bundled"), push("legacy")
	strangerBundled, strangerLegacy := push("stranger-bundled"), push("stranger-legacy")
	sign("dev", bundled.Digest)
	sign("dev", legacy.Digest, "--new-bundle-format=false")
	sign("stranger", strangerBundled.Digest)
	sign("stranger", strangerLegacy.Digest, "--new-bundle-format=false")

	// cosign verify checks the legacy signatures alike. (cosign v3.1.3
	// does not find the bundles it signed with --certificate: it writes
	// the certificate as a chain, which its bundle reader refuses.)
	cosignVerify := func(tag, identity string) []string {
		return []string{"verify", "--trusted-root", os.Getenv("BERTH_TRUST_TRUSTED_ROOT"),
			"--certificate-identity", identity, "--certificate-oidc-issuer", issuer,
			"--insecure-ignore-tlog", "--insecure-ignore-sct", "--allow-http-registry", "--allow-insecure-registry", e.ref(repo, ":"+tag)}
	}
	trusts := func(identity map[string]any) {
		api.call("PUT", "/projects/"+project+"/trust", map[string]any{"enabled": true, "identities": []any{identity}}, http.StatusOK)
	}
	trusts(map[string]any{"issuer": issuer, "subject": subject})

	robot, secret := api.robot(project, "deploy", project+"/**", nil, "pull")
	e.login(robot, secret)
	refused := func(tag string) {
		t.Helper()
		stderr := e.fails("crane", "manifest", "--insecure", e.ref(repo, ":"+tag))
		if !strings.Contains(stderr, "PROJECTPOLICYVIOLATION") || !strings.Contains(stderr, "not signed by a key or identity project "+project+" trusts") {
			t.Fatalf("pull of %s refused for another reason:\n%s", tag, clip(stderr))
		}
	}
	for _, tag := range []string{"bundled", "legacy"} {
		e.run("crane", "manifest", "--insecure", e.ref(repo, ":"+tag))
	}
	e.run("cosign", cosignVerify("legacy", subject)...)
	for _, tag := range []string{"stranger-bundled", "stranger-legacy"} {
		refused(tag)
	}
	e.fails("cosign", cosignVerify("stranger-legacy", subject)...)

	// Another subject trusted: the same signatures no longer count.
	trusts(map[string]any{"issuer": issuer, "subject_regexp": `ops@e2e\.test`})
	for _, tag := range []string{"bundled", "legacy"} {
		refused(tag)
	}
	e.fails("cosign", cosignVerify("legacy", "ops@e2e.test")...)
	trusts(map[string]any{"issuer": issuer, "subject_regexp": `[a-z]+@e2e\.test`})
	e.run("crane", "manifest", "--insecure", e.ref(repo, ":bundled"))
}
