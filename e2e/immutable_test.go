package e2e

import (
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestImmutableTags pushes with crane into a project whose every tag is
// immutable: a re-push of the tag to another image is refused (412
// DENIED) and so is its deletion, while cosign signs the image in both
// formats (the referrer bundle, and the legacy .sig tag, twice, which
// moves that tag).
func TestImmutableTags(t *testing.T) {
	t.Parallel()
	e, api := newAdminEnv(t)
	project := "imm-" + randHex(4)
	api.call("POST", "/projects", map[string]any{"project_name": project}, http.StatusCreated)
	api.call("POST", "/projects/"+project+"/immutabletagrules", map[string]any{
		"action": "immutable", "template": "immutable_template",
		"tag_selectors":   []map[string]string{{"kind": "doublestar", "decoration": "matches", "pattern": "**"}},
		"scope_selectors": map[string][]map[string]string{"repository": {{"kind": "doublestar", "decoration": "repoMatches", "pattern": "**"}}},
	}, http.StatusCreated)

	a, b := newImage(t, "amd64", 32<<10), newImage(t, "arm64", 32<<10)
	layouts := t.TempDir()
	la, lb := filepath.Join(layouts, "a"), filepath.Join(layouts, "b")
	writeImageLayout(t, la, "v1", a)
	writeImageLayout(t, lb, "v1", b)
	repo := project + "/app"
	v1 := e.ref(repo, ":v1")

	e.run("crane", "push", "--insecure", la, v1)
	e.run("crane", "push", "--insecure", la, v1) // the same image again: fine
	stderr := e.fails("crane", "push", "--insecure", lb, v1)
	if !strings.Contains(stderr, "immutable") || !strings.Contains(stderr, "412") && !strings.Contains(stderr, "DENIED") {
		t.Fatalf("re-push of an immutable tag failed for another reason:\n%s", clip(stderr))
	}
	wantEqual(t, "v1's digest", strings.TrimSpace(e.run("crane", "digest", "--insecure", v1)), a.Digest)

	// cosign signs it, both ways.
	password := "COSIGN_PASSWORD=berth-e2e-" + randHex(4)
	keys := t.TempDir()
	e.runCmd(cmd{name: "cosign", dir: keys, env: []string{password}, args: []string{"generate-key-pair"}})
	sign := func(extra ...string) {
		args := []string{"sign", "--key", filepath.Join(keys, "cosign.key"), "--yes",
			"--use-signing-config=false", "--tlog-upload=false", "--allow-http-registry", "--allow-insecure-registry"}
		e.runCmd(cmd{name: "cosign", env: []string{password}, args: append(append(args, extra...), e.ref(repo, "@"+a.Digest))})
	}
	sign()                            // cosign v3: a bundle referrer
	sign("--new-bundle-format=false") // cosign v2's form: the .sig tag
	sign("--new-bundle-format=false") // again: the .sig tag moves
	sigTag := strings.Replace(a.Digest, ":", "-", 1) + ".sig"
	if tags := lines(e.run("crane", "ls", "--insecure", e.ref(repo, ""))); !slices.Contains(tags, sigTag) {
		t.Fatalf("crane ls = %q, want %s", tags, sigTag)
	}
	e.run("cosign", "verify", "--key", filepath.Join(keys, "cosign.pub"), "--insecure-ignore-tlog=true",
		"--allow-http-registry", "--allow-insecure-registry", v1)

	// Neither the tag nor its image can be deleted.
	stderr = e.fails("crane", "delete", "--insecure", e.ref(repo, "@"+a.Digest))
	if !strings.Contains(stderr, "immutable") {
		t.Fatalf("deleting the immutable tag's image failed for another reason:\n%s", clip(stderr))
	}
	// Lifting the rule lets the tag move.
	api.call("DELETE", "/projects/"+project+"/immutabletagrules/1", nil, http.StatusOK)
	e.run("crane", "push", "--insecure", lb, v1)
}
