//go:build linux

// The MinIO fault test is Linux-only, like scripts/minio.sh that provides its
// MinIO binary: the MinIO it starts gets Pdeathsig, so it dies with the test
// binary even when a timeout panic skips every t.Cleanup.

package server

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// minioProc is a MinIO server of the test's own, started from
// $BERTH_MINIO_BIN, that can be killed and started again on the same
// address and data directory.
type minioProc struct {
	bin, addr, console, data, logPath string
	cmd                               *exec.Cmd
	exited                            chan struct{} // closed once cmd has been waited for
}

// startMinIO starts a MinIO on free loopback ports with a fresh data
// directory; every process it (or a later restart) starts is killed in
// t.Cleanup.
func startMinIO(t *testing.T, bin string) *minioProc {
	t.Helper()
	dir := t.TempDir()
	m := &minioProc{bin: bin, data: filepath.Join(dir, "data"), logPath: filepath.Join(dir, "minio.log")}
	if err := os.Mkdir(m.data, 0o755); err != nil {
		t.Fatal(err)
	}
	// freeAddr releases the port before MinIO binds it (and MinIO binds
	// [::1] too), so a lost race is retried on other ports.
	var err error
	for range 3 {
		m.addr, m.console = freeAddr(t), freeAddr(t)
		if m.addr == m.console {
			continue
		}
		if err = m.start(t); err == nil {
			return m
		}
		t.Logf("MinIO did not start on %s: %v; trying other ports", m.addr, err)
	}
	t.Fatalf("MinIO did not start: %v", err)
	return nil
}

func (m *minioProc) endpoint() string { return "http://" + m.addr }

// start runs the server on m's address and data directory and waits until
// /minio/health/ready answers 200 and the S3 API no longer answers 503
// (MinIO reports ready a moment before its object layer is initialized;
// on a busy machine that moment is long enough for a request to fall in).
func (m *minioProc) start(t *testing.T) error {
	t.Helper()
	logf, err := os.OpenFile(m.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(m.bin, "server", "--quiet", "--address", m.addr, "--console-address", m.console, m.data)
	cmd.Env = os.Environ() // MINIO_ROOT_USER, MINIO_ROOT_PASSWORD, MINIO_SITE_REGION, … from scripts/minio.sh
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = childAttr()
	err = cmd.Start()
	logf.Close()
	if err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	m.cmd, m.exited = cmd, exited
	t.Cleanup(func() { stopProc(cmd, exited) })

	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if res, err := client.Get(m.endpoint() + "/minio/health/ready"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK && m.apiInitialized(client) {
				return nil
			}
		}
		select {
		case <-exited:
			return fmt.Errorf("exited during start: %s; log:\n%s", cmd.ProcessState, m.logTail())
		case <-time.After(50 * time.Millisecond):
		}
	}
	stopProc(cmd, exited)
	return fmt.Errorf("not ready on %s in 30s; log:\n%s", m.addr, m.logTail())
}

// apiInitialized reports whether the S3 API answers an anonymous
// request with anything but 503 (a refusal, once it is initialized).
func (m *minioProc) apiInitialized(client *http.Client) bool {
	res, err := client.Get(m.endpoint() + "/")
	if err != nil {
		return false
	}
	res.Body.Close()
	return res.StatusCode != http.StatusServiceUnavailable
}

// kill SIGKILLs the running server and waits until it is gone.
func (m *minioProc) kill(t *testing.T) {
	t.Helper()
	if err := m.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill MinIO: %v", err)
	}
	select {
	case <-m.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("MinIO still running 10s after SIGKILL")
	}
}

func (m *minioProc) logTail() string {
	b, _ := os.ReadFile(m.logPath)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// stopProc SIGKILLs cmd unless it has exited, and waits for it.
func stopProc(cmd *exec.Cmd, exited chan struct{}) {
	select {
	case <-exited:
		return
	default:
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
	}
}

// newTestS3Client is an S3 client for the test's own checks of the bucket,
// configured like the s3 driver for an S3-compatible endpoint.
func newTestS3Client(endpoint, region, accessKey, secretKey string) *s3.Client {
	cfg := aws.Config{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider(accessKey, secretKey, ""),
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.UsePathStyle = true
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
}

// ociErrorBody checks that res carries a JSON OCI error body and returns the
// body and its first error code.
func ociErrorBody(t *testing.T, res *http.Response, body []byte) string {
	t.Helper()
	if ct, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type")); ct != "application/json" {
		t.Errorf("error response has Content-Type %q, want application/json: %s", res.Header.Get("Content-Type"), body)
	}
	var eb struct {
		Errors []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(body, &eb); err != nil || len(eb.Errors) == 0 || eb.Errors[0].Code == "" {
		t.Errorf("error response is not an OCI error body (%v): %q", err, body)
		return ""
	}
	return eb.Errors[0].Code
}

// wantUnavailable checks the answer to a request the storage outage failed:
// 503 UNAVAILABLE with a Retry-After, so clients know to come back.
func wantUnavailable(t *testing.T, what string, res *http.Response, code string) {
	t.Helper()
	if res.StatusCode != http.StatusServiceUnavailable || code != "UNAVAILABLE" || res.Header.Get("Retry-After") == "" {
		t.Errorf("%s: %d %s (Retry-After %q), want 503 UNAVAILABLE with a Retry-After",
			what, res.StatusCode, code, res.Header.Get("Retry-After"))
	}
}

// uploadStatus GETs the upload URL and checks it holds exactly offset bytes;
// it returns the Location to continue at.
func uploadStatus(t *testing.T, srv *serverProc, loc string, offset int) string {
	t.Helper()
	res := expectStatus(t, request(t, "GET", srv.url(loc), nil), http.StatusNoContent)
	res.Body.Close()
	if got, want := res.Header.Get("Range"), fmt.Sprintf("0-%d", offset-1); got != want {
		t.Fatalf("upload status: Range %q, want %q (the last acknowledged offset)", got, want)
	}
	return cmp.Or(res.Header.Get("Location"), loc)
}

// patchChunk PATCHes blob[from:from+n] and expects 202 with the new Range.
func patchChunk(t *testing.T, srv *serverProc, loc string, blob []byte, from, n int) string {
	t.Helper()
	res := expectStatus(t, request(t, "PATCH", srv.url(loc), bytes.NewReader(blob[from:from+n]),
		"Content-Type", "application/octet-stream",
		"Content-Range", fmt.Sprintf("%d-%d", from, from+n-1)), http.StatusAccepted)
	res.Body.Close()
	if got, want := res.Header.Get("Range"), fmt.Sprintf("0-%d", from+n-1); got != want {
		t.Fatalf("PATCH %d bytes at %d: Range %q, want %q", n, from, got, want)
	}
	return res.Header.Get("Location")
}

// checkBucketBlobs lists every object under blobs/ and checks that each has
// the layout blobs/sha256/<2 hex>/<hex>, hashes to the digest its key
// names, and belongs to a blob whose upload completed; and that every
// completed blob is there.
func checkBucketBlobs(t *testing.T, ctx context.Context, c *s3.Client, bucket string, completed map[string]int) {
	t.Helper()
	seen := make(map[string]bool)
	pages := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: aws.String("blobs/")})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatalf("list bucket: %v", err)
		}
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			el := strings.Split(key, "/")
			if len(el) != 4 || el[1] != "sha256" || len(el[3]) != 64 || el[2] != el[3][:2] {
				t.Errorf("object %s is not at a blob's content address", key)
				continue
			}
			d := "sha256:" + el[3]
			out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
			if err != nil {
				t.Fatalf("get %s: %v", key, err)
			}
			h := sha256.New()
			n, err := io.Copy(h, out.Body)
			out.Body.Close()
			if err != nil {
				t.Fatalf("read %s: %v", key, err)
			}
			if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != d {
				t.Errorf("object %s (%d bytes) holds content with digest %s", key, n, got)
			}
			size, ok := completed[d]
			switch {
			case !ok:
				t.Errorf("object %s (%d bytes) exists for a blob whose upload never completed", key, n)
			case int64(size) != n:
				t.Errorf("object %s holds %d bytes, want %d", key, n, size)
			}
			seen[d] = true
		}
	}
	for d := range completed {
		if !seen[d] {
			t.Errorf("completed blob %s is not in the bucket", d)
		}
	}
}

// TestMinIOOutageMidUploadResumes runs a server on S3 (a MinIO of
// its own), pushes a blob in chunks of mixed sizes, SIGKILLs MinIO while a
// chunk is in flight, checks that the chunks sent during the outage fail
// with OCI errors while the server stays up and keeps the session's offset,
// restarts MinIO, resumes and completes the upload, and checks that the
// bucket never shows a blob that is not whole.
func TestMinIOOutageMidUploadResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the server binary and runs and kills a MinIO server")
	}
	minioBin := os.Getenv("BERTH_MINIO_BIN")
	accessKey, secretKey := os.Getenv("MINIO_ROOT_USER"), os.Getenv("MINIO_ROOT_PASSWORD")
	if minioBin == "" || accessKey == "" || secretKey == "" {
		t.Fatal("BERTH_MINIO_BIN, MINIO_ROOT_USER or MINIO_ROOT_PASSWORD is unset: this test runs a MinIO server " +
			"of its own from the pinned binary. Run it under scripts/minio.sh: " +
			"scripts/minio.sh -- go test -run TestMinIO ./server")
	}
	region := cmp.Or(os.Getenv("MINIO_SITE_REGION"), "us-east-1")
	const bucket = "berth-fault"
	ctx := t.Context()

	t0 := time.Now()
	mc := startMinIO(t, minioBin)
	t.Logf("MinIO ready at %s in %v", mc.endpoint(), time.Since(t0).Round(time.Millisecond))
	s3c := newTestS3Client(mc.endpoint(), region, accessKey, secretKey)
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("create bucket: %v", err)
	}

	// The server on that bucket, with no other BERTH_* setting leaking in
	// from the environment (a root prefix, a part size, a config file).
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "BERTH_") && !strings.HasPrefix(k, "BERTH_MINIO_") {
			t.Setenv(k, "")
		}
	}
	t.Setenv("BERTH_STORAGE_DRIVER", "s3")
	t.Setenv("BERTH_S3_ENDPOINT", mc.endpoint())
	t.Setenv("BERTH_S3_REGION", region)
	t.Setenv("BERTH_S3_BUCKET", bucket)
	t.Setenv("BERTH_S3_ACCESS_KEY", accessKey)
	t.Setenv("BERTH_S3_SECRET_KEY", secretKey)
	srv := startServer(t, childBinary(t), t.TempDir(), freeAddr(t))

	rng := rand.NewChaCha8([32]byte{'m', 'i', 'n', 'i', 'o'})
	blob := make([]byte, 40<<20+12345)
	_, _ = rng.Read(blob)
	digest := sha(blob)
	completed := map[string]int{}

	// With the default 8 MiB parts and S3's 5 MiB minimum, these leave the
	// session: a 1 MiB tail; 4 MiB; part 1 (8 MiB, uploaded mid-chunk) and
	// 3 MiB; 3.1 MiB; part 2 (5.1 MiB at save); a 600 KiB tail.
	res := expectStatus(t, request(t, "POST", srv.url("/v2/fault/big/blobs/uploads/"), nil), http.StatusAccepted)
	res.Body.Close()
	loc := res.Header.Get("Location")
	acked := 0
	for _, n := range []int{1 << 20, 3 << 20, 7 << 20, 100 << 10, 2 << 20, 600 << 10} {
		loc = patchChunk(t, srv, loc, blob, acked, n)
		acked += n
	}
	t.Logf("acknowledged %d bytes in 6 chunks before the fault", acked)

	// A 6 MiB chunk in flight: 1 MiB sent, MinIO killed, the rest sent. The
	// session then holds 6.6 MiB, so saving it must upload a part.
	faultClient := &http.Client{Timeout: 3 * time.Minute}
	const inflight, firstPart = 6 << 20, 1 << 20
	type result struct {
		res  *http.Response
		body []byte
		err  error
		at   time.Time
	}
	done := make(chan result, 1)
	pr, pw := io.Pipe()
	req, err := http.NewRequest("PATCH", srv.url(loc), pr)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = inflight
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Content-Range", fmt.Sprintf("%d-%d", acked, acked+inflight-1))
	go func() {
		var r result
		r.res, r.err = faultClient.Do(req)
		if r.err == nil {
			r.body, r.err = io.ReadAll(r.res.Body)
			r.res.Body.Close()
		}
		r.at = time.Now()
		done <- r
	}()
	if _, err := pw.Write(blob[acked : acked+firstPart]); err != nil {
		t.Fatalf("in-flight PATCH: sending the first MiB: %v", err)
	}
	time.Sleep(200 * time.Millisecond)
	killedAt := time.Now()
	mc.kill(t)
	t.Logf("MinIO SIGKILLed with %d of the in-flight chunk's %d bytes sent", firstPart, inflight)
	if _, err := pw.Write(blob[acked+firstPart : acked+inflight]); err != nil {
		t.Fatalf("in-flight PATCH: the server stopped reading the body after MinIO died: %v", err)
	}
	pw.Close()
	bodySent := time.Now()
	var r result
	select {
	case r = <-done:
	case <-time.After(4 * time.Minute):
		t.Fatal("in-flight PATCH: no answer 4 minutes after its body was sent")
	}
	if r.err != nil {
		t.Fatalf("in-flight PATCH: %v (the server must answer, not drop the connection)", r.err)
	}
	code := ociErrorBody(t, r.res, r.body)
	t.Logf("in-flight PATCH while MinIO is down: %d %s in %v after its body was sent (Retry-After %q): %s",
		r.res.StatusCode, code, r.at.Sub(bodySent).Round(time.Millisecond), r.res.Header.Get("Retry-After"), bytes.TrimSpace(r.body))
	wantUnavailable(t, "in-flight PATCH while MinIO is down", r.res, code)

	// The server is still up, and still knows the session at its last
	// acknowledged offset: neither needs S3.
	expectStatus(t, request(t, "GET", srv.url("/v2/"), nil), http.StatusOK).Body.Close()
	uploadStatus(t, srv, loc, acked)

	// One more chunk while MinIO is down: 8 MiB, so the 8 MiB part fills
	// 7.4 MiB into the body and its upload fails inside the write; the
	// server answers with 600 KiB of the body still unread. (A chunk that
	// kept the session below 5 MiB would be accepted: its bytes stay in
	// the session's metadata.)
	const second = 8 << 20
	req, err = http.NewRequest("PATCH", srv.url(loc), bytes.NewReader(blob[acked:acked+second]))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Content-Range", fmt.Sprintf("%d-%d", acked, acked+second-1))
	start := time.Now()
	res, err = faultClient.Do(req)
	if err != nil {
		t.Fatalf("second PATCH while MinIO is down: %v", err)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	code = ociErrorBody(t, res, body)
	t.Logf("second PATCH while MinIO is down: %d %s in %v (Retry-After %q): %s",
		res.StatusCode, code, time.Since(start).Round(time.Millisecond), res.Header.Get("Retry-After"), bytes.TrimSpace(body))
	wantUnavailable(t, "second PATCH while MinIO is down", res, code)
	expectStatus(t, request(t, "GET", srv.url("/v2/"), nil), http.StatusOK).Body.Close()
	uploadStatus(t, srv, loc, acked)

	// MinIO back on the same address and data.
	restartAt := time.Now()
	if err := mc.start(t); err != nil {
		t.Fatalf("restart MinIO: %v", err)
	}
	t.Logf("MinIO restarted in %v; it was down for %v", time.Since(restartAt).Round(time.Millisecond), time.Since(killedAt).Round(time.Millisecond))
	checkBucketBlobs(t, ctx, s3c, bucket, completed)

	// A client's retry: ask where the upload stands, resume from there.
	loc = uploadStatus(t, srv, loc, acked)
	expectStatus(t, request(t, "HEAD", srv.url("/v2/fault/big/blobs/"+digest), nil), http.StatusNotFound).Body.Close()
	resumeAt := time.Now()
	for _, n := range []int{inflight, 4 << 20, 9 << 20, 100 << 10, 5 << 20, len(blob)} {
		n = min(n, len(blob)-acked)
		loc = patchChunk(t, srv, loc, blob, acked, n)
		acked += n
	}
	res = expectStatus(t, request(t, "PUT", srv.url(loc+"?digest="+digest), nil), http.StatusCreated)
	res.Body.Close()
	if got := res.Header.Get("Docker-Content-Digest"); got != digest {
		t.Errorf("PUT: Docker-Content-Digest %q, want %s", got, digest)
	}
	completed[digest] = len(blob)
	t.Logf("resumed and completed the upload in %v after the restart", time.Since(resumeAt).Round(time.Millisecond))

	res = expectStatus(t, request(t, "GET", srv.url("/v2/fault/big/blobs/"+digest), nil), http.StatusOK)
	got, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil || len(got) != len(blob) || sha(got) != digest {
		t.Fatalf("pulled blob: %d bytes, digest %s, want %d bytes, %s (%v)", len(got), sha(got), len(blob), digest, err)
	}

	// A monolithic push after the restart (9 MiB: a multipart object).
	mono := make([]byte, 9<<20+7)
	_, _ = rng.Read(mono)
	monoDigest := sha(mono)
	res = expectStatus(t, request(t, "POST", srv.url("/v2/fault/mono/blobs/uploads/?digest="+monoDigest), bytes.NewReader(mono),
		"Content-Type", "application/octet-stream"), http.StatusCreated)
	res.Body.Close()
	completed[monoDigest] = len(mono)
	res = expectStatus(t, request(t, "GET", srv.url("/v2/fault/mono/blobs/"+monoDigest), nil), http.StatusOK)
	got, err = io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil || !bytes.Equal(got, mono) {
		t.Fatalf("pulled monolithic blob: %d bytes, digest %s, want %d bytes, %s (%v)", len(got), sha(got), len(mono), monoDigest, err)
	}

	checkBucketBlobs(t, ctx, s3c, bucket, completed)
	checkNothingLeftBehind(t, ctx, s3c, bucket)
}

// checkNothingLeftBehind reports upload data and multipart uploads that
// outlived their completed sessions.
func checkNothingLeftBehind(t *testing.T, ctx context.Context, c *s3.Client, bucket string) {
	t.Helper()
	objs, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: aws.String("uploads/")})
	if err != nil {
		t.Fatalf("list uploads/: %v", err)
	}
	for _, o := range objs.Contents {
		t.Errorf("object %s (%d bytes) outlived its completed upload session", aws.ToString(o.Key), aws.ToInt64(o.Size))
	}
	mps, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &bucket})
	if err != nil {
		t.Fatalf("list multipart uploads: %v", err)
	}
	for _, u := range mps.Uploads {
		t.Errorf("multipart upload %s of %s outlived its completed upload session", aws.ToString(u.UploadId), aws.ToString(u.Key))
	}
}
