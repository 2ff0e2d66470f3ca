package cluster

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// upload is one chunked blob upload sent request by request to chosen
// bases (instances or the balancer).
type upload struct {
	cl   *client
	repo string
	tok  string
	loc  string // the session's path and query, from the last Location
}

// start opens a session at base.
func (u *upload) start(t *testing.T, base string) bool {
	t.Helper()
	res, b := u.cl.do(t, "POST", base+"/v2/"+u.repo+"/blobs/uploads/", u.tok, nil)
	return u.next(t, "POST", base, res, b, http.StatusAccepted)
}

// chunk sends data, which starts at offset, to base.
func (u *upload) chunk(t *testing.T, base string, offset int, data []byte) bool {
	t.Helper()
	res, b := u.cl.do(t, "PATCH", base+u.loc, u.tok, data, "Content-Type", "application/octet-stream",
		"Content-Range", fmt.Sprintf("%d-%d", offset, offset+len(data)-1))
	if !u.next(t, "PATCH", base, res, b, http.StatusAccepted) {
		return false
	}
	if want := fmt.Sprintf("0-%d", offset+len(data)-1); res.Header.Get("Range") != want {
		t.Errorf("PATCH at %s: Range %q, want %q", base, res.Header.Get("Range"), want)
		return false
	}
	return true
}

// finish closes the session at base with the blob's digest.
func (u *upload) finish(t *testing.T, base, digest string) bool {
	t.Helper()
	sep := "?"
	if pu, err := url.Parse(u.loc); err == nil && pu.RawQuery != "" {
		sep = "&"
	}
	res, b := u.cl.do(t, "PUT", base+u.loc+sep+"digest="+url.QueryEscape(digest), u.tok, nil)
	if res.StatusCode != http.StatusCreated {
		t.Errorf("PUT at %s: %s %s", base, res.Status, b)
		return false
	}
	return true
}

// next checks an answer and keeps its Location's path and query.
func (u *upload) next(t *testing.T, method, base string, res *http.Response, body []byte, want int) bool {
	t.Helper()
	if res.StatusCode != want {
		t.Errorf("%s at %s: %s %s", method, base, res.Status, body)
		return false
	}
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil || loc.Path == "" {
		t.Errorf("%s at %s: Location %q", method, base, res.Header.Get("Location"))
		return false
	}
	u.loc = loc.RequestURI()
	return true
}

// TestChunkedUploadAcrossInstances: a blob uploaded in chunks, each
// request to another instance (the session's offset and hash state are
// in the shared store, its parts in the shared bucket), with chunks below
// and above S3's 5 MiB part minimum, is whole on every instance, and an
// image made of it pushed through the balancer pulls from each.
func TestChunkedUploadAcrossInstances(t *testing.T) {
	c := need(t)
	cl := c.client(t)
	repo := cl.project(t, "lb-chunk") + "/app"

	layer, err := random.Layer(9<<20, types.OCILayer)
	if err != nil {
		t.Fatal(err)
	}
	data := compressed(t, layer)
	d, _ := layer.Digest()
	cuts := []int{0, 5<<20 + 1, 5<<20 + 1 + 1<<20, len(data)} // 5 MiB+1, 1 MiB, the rest (~3 MiB)
	on := func(i int) *instance { return c.instances[i%len(c.instances)] }

	u := &upload{cl: cl, repo: repo, tok: cl.token(t, "repository:"+repo+":pull,push")}
	if !u.start(t, on(0).url) {
		t.FailNow()
	}
	for i := 0; i+1 < len(cuts); i++ {
		if !u.chunk(t, on(i+1).url, cuts[i], data[cuts[i]:cuts[i+1]]) {
			t.FailNow()
		}
	}
	if !u.finish(t, on(len(cuts)).url, d.String()) {
		t.FailNow()
	}
	for _, in := range c.instances {
		res, b := cl.do(t, "GET", in.url+"/v2/"+repo+"/blobs/"+d.String(), u.tok, nil)
		if sum := sha256.Sum256(b); res.StatusCode != http.StatusOK || "sha256:"+hex.EncodeToString(sum[:]) != d.String() {
			t.Errorf("GET blob at instance %d: %s, %d bytes of sha256:%x", in.n, res.Status, len(b), sum)
		}
	}

	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.push(t, c.host, repo+":chunked", img, 1); err != nil {
		t.Fatalf("push through the balancer: %v", err)
	}
	want, _ := img.Digest()
	for _, in := range c.instances {
		cl.verify(t, in.host, repo+":chunked", want)
	}
}

// TestConcurrentChunkedUploadsThroughBalancer: several clients upload
// blobs in chunks at once through nginx, which sends each request to the
// next instance: every session sees its chunks from several instances
// while the others write theirs. Every upload completes, and each blob is
// whole on every instance.
func TestConcurrentChunkedUploadsThroughBalancer(t *testing.T) {
	c := need(t)
	cl := c.client(t)
	repo := cl.project(t, "lb-chunk") + "/many"
	tok := cl.token(t, "repository:"+repo+":pull,push")

	const uploads, chunks, chunkSize = 12, 6, 128 << 10
	digests := make([]v1.Hash, uploads)
	var wg sync.WaitGroup
	for i := range uploads {
		wg.Go(func() {
			data := make([]byte, chunks*chunkSize+i)
			_, _ = rand.Read(data)
			u := &upload{cl: cl, repo: repo, tok: tok}
			if !u.start(t, c.url) {
				return
			}
			for off := 0; off < len(data); off += chunkSize {
				if !u.chunk(t, c.url, off, data[off:min(off+chunkSize, len(data))]) {
					return
				}
			}
			h, _, _ := v1.SHA256(bytes.NewReader(data))
			if u.finish(t, c.url, h.String()) {
				digests[i] = h
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	for _, in := range c.instances {
		for i, d := range digests {
			res, b := cl.do(t, "HEAD", in.url+"/v2/"+repo+"/blobs/"+d.String(), tok, nil)
			if res.StatusCode != http.StatusOK || res.Header.Get("Content-Length") != strconv.Itoa(chunks*chunkSize+i) {
				t.Errorf("HEAD blob %d at instance %d: %s %s (Content-Length %s)", i, in.n, res.Status, b, res.Header.Get("Content-Length"))
			}
		}
	}
	t.Logf("answers: %s", cl.rec)
}

func compressed(t *testing.T, l v1.Layer) []byte {
	t.Helper()
	rc, err := l.Compressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
