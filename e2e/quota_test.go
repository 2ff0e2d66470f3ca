package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// imageSize is what an image counts for in its project's quota: its
// manifest, config and layers.
func imageSize(img *image) int64 {
	n := int64(len(img.Manifest))
	for _, b := range img.blobs {
		n += int64(len(b))
	}
	return n
}

// TestQuota pushes with crane into a project with a storage limit: the
// push that would exceed it is refused with DENIED naming the project,
// and accepted once a delete made room; the quotas API reports usage.
func TestQuota(t *testing.T) {
	t.Parallel()
	e, api := newAdminEnv(t)
	project := "quota-" + randHex(4)
	a, b := newImage(t, "amd64", 256<<10), newImage(t, "arm64", 256<<10)
	limit := imageSize(a) + imageSize(b)/2
	api.call("POST", "/projects", map[string]any{"project_name": project, "storage_limit": limit}, http.StatusCreated)
	usage := func() (int64, int64) {
		t.Helper()
		var qs []struct {
			Hard, Used map[string]int64
		}
		if err := json.Unmarshal(api.call("GET", "/quotas?reference=project&reference_id="+project, nil, http.StatusOK), &qs); err != nil {
			t.Fatal(err)
		}
		if len(qs) != 1 {
			t.Fatalf("quotas of %s: %d, want 1", project, len(qs))
		}
		return qs[0].Hard["storage"], qs[0].Used["storage"]
	}
	layouts := t.TempDir()
	la, lb := filepath.Join(layouts, "a"), filepath.Join(layouts, "b")
	writeImageLayout(t, la, "a", a)
	writeImageLayout(t, lb, "b", b)
	repo := project + "/app"

	e.run("crane", "push", "--insecure", la, e.ref(repo, ":a"))
	if hard, used := usage(); hard != limit || used != imageSize(a) {
		t.Fatalf("after a: quota %d, used %d; want %d, %d", hard, used, limit, imageSize(a))
	}
	stderr := e.fails("crane", "push", "--insecure", lb, e.ref(repo, ":b"))
	for _, want := range []string{"DENIED", "project " + project, fmt.Sprint(limit)} {
		if !strings.Contains(stderr, want) {
			t.Fatalf("push over the limit failed without %q:\n%s", want, clip(stderr))
		}
	}
	if _, used := usage(); used != imageSize(a) {
		t.Fatalf("after the refusal: used %d, want %d", used, imageSize(a))
	}
	e.run("crane", "delete", "--insecure", e.ref(repo, "@"+a.Digest))
	if _, used := usage(); used != 0 {
		t.Fatalf("after deleting a: used %d, want 0", used)
	}
	e.run("crane", "push", "--insecure", lb, e.ref(repo, ":b"))
	if _, used := usage(); used != imageSize(b) {
		t.Fatalf("after b: used %d, want %d", used, imageSize(b))
	}
	// Only a system administrator sets limits.
	api.call("PUT", "/quotas/"+project, map[string]any{"hard": map[string]int64{"storage": -1}}, http.StatusOK)
	if hard, _ := usage(); hard != -1 {
		t.Fatalf("limit after PUT: %d, want -1", hard)
	}
}
