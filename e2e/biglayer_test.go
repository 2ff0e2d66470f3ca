package e2e

import (
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const bigSize = 512 << 20

// TestBigLayer round-trips a 512 MiB random blob: pushed with oras (POST then
// one PUT) and with regctl (chunked PATCH uploads of a stream of unknown
// size), read back with oras, crane and regctl, every copy hashed and
// compared. It runs only with BERTH_E2E_BIG=1.
func TestBigLayer(t *testing.T) {
	if os.Getenv("BERTH_E2E_BIG") != "1" {
		registryAddr(t) // an unset registry still skips with its own message
		t.Skip("BERTH_E2E_BIG is not 1: skipping the 512 MiB round trip")
	}
	t.Parallel()
	e := newClientEnv(t)
	repo := uniqueRepo("big")
	dir := t.TempDir()
	const name = "big.bin"
	src := filepath.Join(dir, name)
	want := writeRandomFile(t, src, bigSize)
	const long = 10 * time.Minute

	t.Run("oras-push-pull", func(t *testing.T) {
		e := e.on(t)
		ref := e.ref(repo, ":big")
		e.runCmd(cmd{name: "oras", dir: dir, timeout: long, args: []string{
			"push", "--plain-http", "--no-tty", "--artifact-type", artBundle, ref, name + ":application/octet-stream",
		}})
		dst := t.TempDir()
		e.runCmd(cmd{name: "oras", timeout: long, args: []string{"pull", "--plain-http", "--no-tty", "-o", dst, ref}})
		wantEqual(t, "oras pulled file", fileDigest(t, filepath.Join(dst, name)), want)

		// Read the blob again with another client, streaming to disk.
		out := filepath.Join(t.TempDir(), "blob")
		f, err := os.Create(out)
		if err != nil {
			t.Fatal(err)
		}
		e.runCmd(cmd{name: "crane", timeout: long, stdout: f, args: []string{"blob", "--insecure", e.ref(repo, "@"+want)}})
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "crane blob", fileDigest(t, out), want)
	})

	t.Run("regctl-chunked", func(t *testing.T) {
		e := e.on(t)
		e.run("regctl", "registry", "set", "--tls", "disabled", e.reg)
		repo2 := e.ref(uniqueRepo("big-chunked"), "")
		in, err := os.Open(src)
		if err != nil {
			t.Fatal(err)
		}
		defer in.Close()
		r := e.exec(cmd{name: "regctl", timeout: long, stdin: in, args: []string{"blob", "put", repo2}})
		if r.err != nil {
			t.Fatalf("regctl blob put failed: %v\n%s", r.err, clip(r.stderr))
		}
		wantEqual(t, "regctl blob put digest", strings.TrimSpace(r.stdout), want)

		out := filepath.Join(t.TempDir(), "blob")
		f, err := os.Create(out)
		if err != nil {
			t.Fatal(err)
		}
		e.runCmd(cmd{name: "regctl", timeout: long, stdout: f, args: []string{"blob", "get", repo2, want}})
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "regctl blob get", fileDigest(t, out), want)
	})
}

// writeRandomFile streams size random bytes to path and returns their digest.
func writeRandomFile(t *testing.T, path string, size int64) string {
	t.Helper()
	var seed [32]byte
	if _, err := rand.Read(seed[:]); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	w := bufio.NewWriterSize(io.MultiWriter(f, h), 1<<20)
	if _, err := io.CopyN(w, mrand.NewChaCha8(seed), size); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}
