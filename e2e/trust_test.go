package e2e

import (
	"net/http"
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
	push := func(tag string) *image {
		img := newImage(t, "amd64", 16<<10)
		layout := filepath.Join(t.TempDir(), "layout")
		writeImageLayout(t, layout, tag, img)
		e.run("crane", "push", "--insecure", layout, e.ref(repo, ":"+tag))
		return img
	}
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
		if !strings.Contains(stderr, "PROJECTPOLICYVIOLATION") || !strings.Contains(stderr, "not signed with a key project "+project+" trusts") {
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
