//go:build unix

package server

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStoredBlobsArePrivate: a pushed blob, an upload in progress, their
// directories and the metadata file are readable by the server's user
// only.
func TestStoredBlobsArePrivate(t *testing.T) {
	cfg := testConfig()
	cfg.DataDir = t.TempDir()
	cfg.Auth.Disabled = true
	host := serve(t, cfg)
	post := func(path string, body []byte) *http.Response {
		t.Helper()
		resp, err := http.Post("http://"+host+path, "application/octet-stream", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	blob := []byte("a private layer")
	if resp := post(fmt.Sprintf("/v2/team/app/blobs/uploads/?digest=sha256:%x", sha256.Sum256(blob)), blob); resp.StatusCode != http.StatusCreated {
		t.Fatalf("monolithic push: %d", resp.StatusCode)
	}
	resp := post("/v2/team/app/blobs/uploads/", nil)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("upload start: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodPatch, "http://"+host+resp.Header.Get("Location"), strings.NewReader("half a layer"))
	req.Header.Set("Content-Type", "application/octet-stream")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("upload chunk: %v %v", resp, err)
	}

	var blobs, uploads int
	root := filepath.Join(cfg.DataDir, "storage")
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := e.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		if e.IsDir() {
			want = 0o700
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode().Perm(), want)
		}
		rel, _ := filepath.Rel(root, p)
		if !e.IsDir() && strings.HasPrefix(rel, "blobs"+string(filepath.Separator)) {
			blobs++
		}
		if !e.IsDir() && strings.HasPrefix(rel, "uploads"+string(filepath.Separator)) {
			uploads++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if blobs == 0 || uploads == 0 {
		t.Fatalf("walked %d blob files and %d upload files, want some of each", blobs, uploads)
	}
	if fi, err := os.Stat(filepath.Join(cfg.DataDir, "meta.db")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("meta.db: %v %v", fi.Mode(), err)
	}
}
