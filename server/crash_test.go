package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// serverProc is a server running as a child process (see childBinary).
type serverProc struct {
	cmd  *exec.Cmd
	addr string
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func startServer(t *testing.T, bin, dataDir, addr string, env ...string) *serverProc {
	t.Helper()
	cmd := exec.Command(bin, "-addr", addr, "-data", dataDir)
	// These tests are about crashes, not access control: run open.
	cmd.Env = append(append(os.Environ(), childEnv+"=serve", "BERTH_LOG_LEVEL=warn", "BERTH_AUTH_DISABLED=true", "BERTH_AUTH_HASH_COST=4", "BERTH_OUTBOUND_ALLOW=127.0.0.0/8"), env...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &serverProc{cmd: cmd, addr: addr}
	t.Cleanup(func() { p.kill() })
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if res, err := http.Get("http://" + addr + "/v2/"); err == nil {
			res.Body.Close()
			return p
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("server on %s did not come up", addr)
	return nil
}

func (p *serverProc) kill() {
	if p.cmd.ProcessState == nil {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		_ = p.cmd.Wait()
	}
}

func (p *serverProc) url(path string) string {
	if strings.HasPrefix(path, "http") {
		return path
	}
	return "http://" + p.addr + path
}

func request(t *testing.T, method, url string, body io.Reader, hdr ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func expectStatus(t *testing.T, res *http.Response, want int) *http.Response {
	t.Helper()
	if res.StatusCode != want {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("%s %s: %d, want %d: %s", res.Request.Method, res.Request.URL, res.StatusCode, want, b)
	}
	return res
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// TestCrashMidUploadResumes pushes a blob in chunks, SIGKILLs the server
// while a chunk is in flight, restarts it on the same data directory, and
// checks that the upload resumes at the last acknowledged offset, completes
// with the right digest, that everything acknowledged before the kill is
// still there, and that no partial blob was ever visible.
func TestCrashMidUploadResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	bin := childBinary(t)
	dataDir := t.TempDir()
	addr := freeAddr(t)
	srv := startServer(t, bin, dataDir, addr)

	// Acknowledged before the crash: a complete image.
	cfg := []byte(`{"architecture":"amd64","os":"linux"}`)
	layer := make([]byte, 1<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range layer {
		layer[i] = byte(rng.Uint32())
	}
	for _, b := range [][]byte{cfg, layer} {
		expectStatus(t, request(t, "POST", srv.url("/v2/crash/img/blobs/uploads/?digest="+sha(b)), bytes.NewReader(b)), http.StatusCreated).Body.Close()
	}
	manifest := []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"%s","size":%d}]}`,
		sha(cfg), len(cfg), sha(layer), len(layer)))
	expectStatus(t, request(t, "PUT", srv.url("/v2/crash/img/manifests/v1"), bytes.NewReader(manifest), "Content-Type", "application/vnd.oci.image.manifest.v1+json"), http.StatusCreated).Body.Close()

	// The big blob, pushed in 4 MiB chunks.
	const chunk = 4 << 20
	big := make([]byte, 48<<20)
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	bigDigest := sha(big)
	res := expectStatus(t, request(t, "POST", srv.url("/v2/crash/big/blobs/uploads/"), nil), http.StatusAccepted)
	res.Body.Close()
	loc := res.Header.Get("Location")
	acked := 0
	for acked < 5*chunk {
		res = expectStatus(t, request(t, "PATCH", srv.url(loc), bytes.NewReader(big[acked:acked+chunk]),
			"Content-Range", fmt.Sprintf("%d-%d", acked, acked+chunk-1)), http.StatusAccepted)
		res.Body.Close()
		loc = res.Header.Get("Location")
		acked += chunk
	}
	// A chunk in flight: half its bytes sent, then the server dies.
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest("PATCH", srv.url(loc), pr)
		req.ContentLength = chunk
		req.Header.Set("Content-Range", fmt.Sprintf("%d-%d", acked, acked+chunk-1))
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
			err = fmt.Errorf("in-flight PATCH unexpectedly answered %d", res.StatusCode)
		}
		done <- err
	}()
	if _, err := pw.Write(big[acked : acked+chunk/2]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	srv.kill()
	pw.CloseWithError(io.ErrUnexpectedEOF)
	if err := <-done; err != nil && strings.Contains(err.Error(), "unexpectedly") {
		t.Fatal(err)
	}
	checkNoPartialBlobs(t, dataDir)

	srv = startServer(t, bin, dataDir, addr)
	expectStatus(t, request(t, "HEAD", srv.url("/v2/crash/big/blobs/"+bigDigest), nil), http.StatusNotFound).Body.Close()
	res = expectStatus(t, request(t, "GET", srv.url(loc), nil), http.StatusNoContent)
	res.Body.Close()
	if got, want := res.Header.Get("Range"), fmt.Sprintf("0-%d", acked-1); got != want {
		t.Fatalf("after restart the upload holds %s, want %s (last acknowledged offset)", got, want)
	}
	loc = res.Header.Get("Location")
	for acked < len(big) {
		end := min(acked+chunk, len(big))
		res = expectStatus(t, request(t, "PATCH", srv.url(loc), bytes.NewReader(big[acked:end]),
			"Content-Range", fmt.Sprintf("%d-%d", acked, end-1)), http.StatusAccepted)
		res.Body.Close()
		loc = res.Header.Get("Location")
		acked = end
	}
	expectStatus(t, request(t, "PUT", srv.url(loc+"?digest="+bigDigest), nil), http.StatusCreated).Body.Close()

	res = expectStatus(t, request(t, "GET", srv.url("/v2/crash/big/blobs/"+bigDigest), nil), http.StatusOK)
	got, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil || sha(got) != bigDigest {
		t.Fatalf("resumed blob: %d bytes, digest %s, want %s (%v)", len(got), sha(got), bigDigest, err)
	}
	res = expectStatus(t, request(t, "GET", srv.url("/v2/crash/img/manifests/v1"), nil), http.StatusOK)
	m, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !bytes.Equal(m, manifest) {
		t.Fatal("manifest acknowledged before the crash changed")
	}
	res = expectStatus(t, request(t, "GET", srv.url("/v2/crash/img/blobs/"+sha(layer)), nil), http.StatusOK)
	lb, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !bytes.Equal(lb, layer) {
		t.Fatal("layer acknowledged before the crash changed")
	}
	checkNoPartialBlobs(t, dataDir)
}

// checkNoPartialBlobs verifies that every object under the blob store's
// content-addressed tree holds exactly the bytes its name promises.
func checkNoPartialBlobs(t *testing.T, dataDir string) {
	t.Helper()
	root := filepath.Join(dataDir, "storage", "blobs", "sha256")
	err := filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if info.IsDir() || strings.HasPrefix(info.Name(), ".") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if sha(b) != "sha256:"+info.Name() {
			t.Errorf("blob %s holds content with digest %s", info.Name(), sha(b))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
