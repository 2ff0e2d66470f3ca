package e2e

import (
	"bytes"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestCrane pushes, pulls, tags, copies, lists and deletes with crane.
func TestCrane(t *testing.T) {
	t.Parallel()
	e := newClientEnv(t)
	repo := uniqueRepo("crane")
	repo2 := uniqueRepo("crane-copy")
	img := newImage(t, "amd64", 256<<10)
	src := filepath.Join(t.TempDir(), "layout")
	writeImageLayout(t, src, "v1", img)

	v1 := e.ref(repo, ":v1")
	out := e.run("crane", "push", "--insecure", src, v1)
	wantEqual(t, "crane push output", strings.TrimSpace(out), e.ref(repo, "@"+img.Digest))

	t.Run("digest", func(t *testing.T) {
		e := e.on(t)
		wantEqual(t, "crane digest", strings.TrimSpace(e.run("crane", "digest", "--insecure", v1)), img.Digest)
	})

	t.Run("manifest", func(t *testing.T) {
		e := e.on(t)
		got := e.run("crane", "manifest", "--insecure", v1)
		if got != string(img.Manifest) {
			t.Errorf("crane manifest returned other bytes:\n got %s\nwant %s", got, img.Manifest)
		}
		wantEqual(t, "crane config digest", digestOf([]byte(e.run("crane", "config", "--insecure", v1))), img.ConfigDigest)
	})

	t.Run("pull", func(t *testing.T) {
		e := e.on(t)
		dst := filepath.Join(t.TempDir(), "pulled")
		e.run("crane", "pull", "--insecure", "--format=oci", v1, dst)
		m := checkLayoutImage(t, dst, img.Digest)
		wantEqual(t, "pulled layer", m.Layers[0].Digest, img.Layers[0].Digest)
		if !bytes.Equal(readFile(t, blobPath(dst, img.Layers[0].Digest)), img.LayerBytes()) {
			t.Error("pulled layer bytes differ from pushed")
		}
	})

	t.Run("blob", func(t *testing.T) {
		e := e.on(t)
		got := e.run("crane", "blob", "--insecure", e.ref(repo, "@"+img.Layers[0].Digest))
		if got != string(img.LayerBytes()) {
			t.Errorf("crane blob returned %d bytes hashing to %s, want %s", len(got), digestOf([]byte(got)), img.Layers[0].Digest)
		}
	})

	t.Run("tag-and-ls", func(t *testing.T) {
		e := e.on(t)
		e.run("crane", "tag", "--insecure", v1, "v2")
		wantEqual(t, "digest of new tag", strings.TrimSpace(e.run("crane", "digest", "--insecure", e.ref(repo, ":v2"))), img.Digest)
		wantContains(t, "crane ls", lines(e.run("crane", "ls", "--insecure", e.ref(repo, ""))), "v1", "v2")
	})

	t.Run("copy-cross-repo", func(t *testing.T) {
		e := e.on(t)
		dst := e.ref(repo2, ":copied")
		e.run("crane", "copy", "--insecure", v1, dst)
		wantEqual(t, "digest after copy", strings.TrimSpace(e.run("crane", "digest", "--insecure", dst)), img.Digest)
		// The layer must now be readable through the destination repository.
		got := e.run("crane", "blob", "--insecure", e.ref(repo2, "@"+img.Layers[0].Digest))
		wantEqual(t, "copied layer digest", digestOf([]byte(got)), img.Layers[0].Digest)
		wantContains(t, "crane ls of copy", lines(e.run("crane", "ls", "--insecure", e.ref(repo2, ""))), "copied")
	})

	t.Run("catalog", func(t *testing.T) {
		e := e.on(t)
		wantContains(t, "crane catalog", lines(e.run("crane", "catalog", "--insecure", e.reg)), repo, repo2)
	})

	t.Run("delete", func(t *testing.T) {
		e := e.on(t)
		// Push a second image to delete, so the other subtests keep theirs.
		other := newImage(t, "amd64", 4<<10)
		dir := filepath.Join(t.TempDir(), "layout")
		writeImageLayout(t, dir, "doomed", other)
		doomed := e.ref(repo, ":doomed")
		e.run("crane", "push", "--insecure", dir, doomed)
		byDigest := e.ref(repo, "@"+other.Digest)
		wantEqual(t, "digest before delete", strings.TrimSpace(e.run("crane", "digest", "--insecure", byDigest)), other.Digest)

		e.run("crane", "delete", "--insecure", byDigest)
		e.fails("crane", "manifest", "--insecure", byDigest)
		e.fails("crane", "pull", "--insecure", "--format=oci", doomed, filepath.Join(t.TempDir(), "gone"))
		if tags := lines(e.run("crane", "ls", "--insecure", e.ref(repo, ""))); slices.Contains(tags, "doomed") {
			t.Errorf("crane ls still lists the deleted manifest's tag: %q", tags)
		}
		// The first image is untouched.
		wantEqual(t, "surviving image", strings.TrimSpace(e.run("crane", "digest", "--insecure", v1)), img.Digest)
	})
}
