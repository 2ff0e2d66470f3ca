package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/registry"
	"github.com/berthreg/berth/registry/inproc"
)

// Blob streams blob d of repo from the cache's upstreams while storing it
// here (registry.Upstream): one fetch per blob of a repository, however
// many pull it at once.
func (s *Service) Blob(ctx context.Context, repo string, d digest.Digest) (bool, io.ReadCloser, int64, error) {
	if isOwn(ctx) {
		return false, nil, 0, nil // the Service's own look at what is here
	}
	st, upRepo, ok, err := s.cacheOf(ctx, repo)
	if !ok {
		return err != nil, nil, 0, err
	}
	if err := d.Validate(); err != nil {
		return true, nil, 0, registry.NewError(http.StatusBadRequest, registry.CodeDigestInvalid, "%v", err)
	}
	key := repo + "@" + d.String()
	s.mu.Lock()
	_, fetching := s.fills[key]
	s.mu.Unlock()
	if !fetching {
		// A fetch may have ended, the blob stored, since the handler
		// looked: then it is served from here.
		if rc, size, ok := s.openLocal(ctx, repo, d); ok {
			return true, rc, size, nil
		}
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return true, nil, 0, registry.NewError(http.StatusServiceUnavailable, registry.CodeUnavailable, "the proxy cache is shutting down")
	}
	f, joined := s.fills[key]
	if !joined {
		f = &fill{repo: repo, digest: d, ready: make(chan struct{})}
		f.cond = sync.NewCond(&f.mu)
		s.fills[key] = f
		s.running.Add(1)
	}
	f.pending++ // the spool file stays until this caller opened it
	s.mu.Unlock()
	if !joined {
		// The fetch outlives this request (a slow or gone client does
		// not hold the upstream), not the Service.
		go func() {
			defer s.running.Done()
			s.run(s.base, f, st, upRepo, key)
		}()
	}
	var rc io.ReadCloser
	select {
	case <-f.ready:
		if err = f.openErr; err == nil {
			rc, err = f.reader()
		}
	case <-ctx.Done():
		err = ctx.Err()
	}
	s.unpend(f)
	if err != nil {
		return true, nil, 0, err
	}
	return true, rc, f.size, nil
}

// openLocal opens blob d of repo as this registry holds it, if it does.
func (s *Service) openLocal(ctx context.Context, repo string, d digest.Digest) (io.ReadCloser, int64, bool) {
	req, err := http.NewRequestWithContext(own(ctx), http.MethodGet, "http://"+inproc.Host+"/v2/"+repo+"/blobs/"+d.String(), nil)
	if err != nil {
		return nil, 0, false
	}
	resp, err := s.local.RoundTrip(req)
	if err != nil {
		return nil, 0, false
	}
	if resp.StatusCode != http.StatusOK || resp.ContentLength < 0 {
		resp.Body.Close()
		return nil, 0, false
	}
	return resp.Body, resp.ContentLength, true
}

// unpend ends a caller's wait for f's spool file; the last one out of a
// finished fill removes the file.
func (s *Service) unpend(f *fill) {
	s.mu.Lock()
	f.pending--
	remove := f.finished && f.pending == 0
	s.mu.Unlock()
	if remove && f.path != "" {
		_ = os.Remove(f.path)
	}
}

// fill is one blob being fetched into a spool file, which its readers
// follow.
type fill struct {
	repo   string
	digest digest.Digest
	// ready is closed once the upstream answered: openErr, or size and
	// path are set.
	ready   chan struct{}
	openErr error
	size    int64
	path    string
	// pending counts the callers yet to open the spool file, finished
	// says run ended (both under the Service's mu).
	pending  int
	finished bool

	mu      sync.Mutex
	cond    *sync.Cond
	written int64
	done    bool  // all size bytes written and verified
	err     error // the fetch failed
}

// run fetches the blob from the first upstream that has it, into a
// spool file, then stores it here; key is its entry in s.fills.
func (s *Service) run(ctx context.Context, f *fill, st Settings, upRepo, key string) {
	defer func() {
		// Forgotten first, so that no one joins it any more; the spool
		// file goes once every caller that joined opened it (readers
		// hold their own descriptors).
		s.mu.Lock()
		delete(s.fills, key)
		f.finished = true
		remove := f.pending == 0
		s.mu.Unlock()
		if remove && f.path != "" {
			_ = os.Remove(f.path)
		}
	}()
	rc, size, release, err := s.openBlob(ctx, st, upRepo, f.digest)
	if err != nil {
		f.openErr = err
		close(f.ready)
		return
	}
	defer release()
	defer rc.Close()
	spool, err := os.CreateTemp(s.spoolDir, "berth-proxy-*")
	if err != nil {
		f.openErr = fmt.Errorf("proxy: spooling %s: %w", f.digest, err)
		close(f.ready)
		return
	}
	f.size, f.path = size, spool.Name()
	close(f.ready)

	err = s.copyVerified(ctx, f, rc, spool)
	if cerr := spool.Close(); err == nil {
		err = cerr
	}
	f.mu.Lock()
	if err != nil {
		f.err = err
	} else {
		f.done = true
	}
	f.cond.Broadcast()
	f.mu.Unlock()
	if err != nil {
		s.logger.WarnContext(ctx, "proxy: fetching a blob failed; nothing stored", "repository", f.repo, "digest", f.digest, "err", err)
		return
	}
	if err := s.pushBlob(ctx, f); err != nil {
		s.logger.WarnContext(ctx, "proxy: storing a fetched blob", "repository", f.repo, "digest", f.digest, "err", err)
	}
}

// openBlob opens blob d upstream: its size and body from the first
// upstream that has it, within that upstream's bound on fetches at once
// (release ends the fetch's turn).
func (s *Service) openBlob(ctx context.Context, st Settings, upRepo string, d digest.Digest) (rc io.ReadCloser, size int64, release func(), err error) {
	ups, err := s.upstreams(ctx, st, upRepo)
	if err != nil {
		return nil, 0, nil, err
	}
	var fails []answer
	for _, u := range ups {
		release, err := u.turn(ctx)
		if err != nil {
			return nil, 0, nil, err
		}
		rc, size, err := s.openFrom(ctx, u, d)
		s.observe(Observation{Kind: "blob", Project: st.Project, Upstream: u.name, Bytes: size, Err: err})
		if err == nil {
			return rc, size, release, nil
		}
		release()
		fails = append(fails, answerOf(u.name, err))
	}
	what := st.Project + "/" + upRepo + "@" + d.String()
	switch {
	case len(fails) == 0:
		return nil, 0, nil, registry.NewError(http.StatusBadGateway, registry.CodeUnavailable, "%s: the cache has no usable upstream registry", what)
	case allNotFound(fails):
		return nil, 0, nil, registry.NewError(http.StatusNotFound, registry.CodeBlobUnknown, "%s is not upstream (%s)", what, summary(fails))
	}
	return nil, 0, nil, upstreamError(what, fails)
}

// turn waits for a free fetch of u (ctx's end: its error); release
// frees it.
func (u upstream) turn(ctx context.Context) (release func(), err error) {
	fetches := u.endpoint.fetches
	if fetches == nil {
		return func() {}, nil
	}
	select {
	case fetches <- struct{}{}:
		return func() { <-fetches }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// openFrom opens blob d at u: one GET (after the token flow, the first
// time for the repository), whose
// Content-Length is the size; the body's reading is bounded by
// copyVerified's stall watchdog, and verified there (once: not by
// go-containerregistry as well).
func (s *Service) openFrom(ctx context.Context, u upstream, d digest.Digest) (io.ReadCloser, int64, error) {
	hctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	rt, err := s.tokenTransport(hctx, u)
	if err != nil {
		return nil, 0, err
	}
	url := fmt.Sprintf("%s://%s/v2/%s/blobs/%s", u.repo.Scheme(), u.repo.RegistryStr(), u.repo.RepositoryStr(), d)
	// The answer's headers must come within the timeout; the body, as
	// copyVerified's watchdog bounds it.
	bctx, cancelBody := context.WithCancel(ctx)
	headers := time.AfterFunc(s.timeout, cancelBody)
	req, err := http.NewRequestWithContext(bctx, http.MethodGet, url, nil)
	if err != nil {
		cancelBody()
		return nil, 0, err
	}
	resp, err := (&http.Client{Transport: rt}).Do(req)
	if !headers.Stop() && err != nil {
		err = fmt.Errorf("%w (no answer in %s)", context.DeadlineExceeded, s.timeout)
	}
	if err != nil {
		cancelBody()
		return nil, 0, err
	}
	if err := transport.CheckError(resp, http.StatusOK); err != nil {
		resp.Body.Close()
		cancelBody()
		return nil, 0, err
	}
	if resp.ContentLength < 0 {
		resp.Body.Close()
		cancelBody()
		return nil, 0, fmt.Errorf("proxy: %s: the upstream did not say its size", d)
	}
	return cancelOnClose{resp.Body, cancelBody}, resp.ContentLength, nil
}

// cancelOnClose is a body whose request's context ends when it is
// closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// copyVerified copies the upstream body into spool, letting readers
// follow, and fails when it stalls for the Service's timeout, ends short
// or long, or does not match the digest. Hashing runs beside the reading
// and writing (readers follow what is written; only the end waits for
// the hash), so a cold pull is not slowed by one core doing all three.
func (s *Service) copyVerified(ctx context.Context, f *fill, body io.ReadCloser, spool *os.File) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	progress := make(chan struct{}, 1)
	go func() {
		t := time.NewTimer(s.timeout)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-progress:
				t.Reset(s.timeout)
			case <-t.C:
				cancel(errStalled)
				_ = body.Close()
				return
			}
		}
	}()
	const buffers, bufferSize = 4, 256 << 10
	free := make(chan []byte, buffers)
	for range buffers {
		free <- make([]byte, bufferSize)
	}
	toHash := make(chan []byte, buffers)
	v := f.digest.Verifier()
	hashed := make(chan struct{})
	go func() {
		defer close(hashed)
		for b := range toHash {
			_, _ = v.Write(b)
			free <- b[:cap(b)]
		}
	}()
	n, err := s.copySpooled(ctx, f, body, spool, free, toHash, progress)
	close(toHash)
	<-hashed
	switch {
	case err != nil:
		return err
	case n != f.size:
		return fmt.Errorf("proxy: %s: the upstream sent %d of %d bytes", f.digest, n, f.size)
	case !v.Verified():
		return fmt.Errorf("proxy: %s: the upstream sent other content", f.digest)
	}
	return nil
}

// copySpooled is copyVerified's reading and writing: each buffer read
// from body goes into spool, is announced to f's readers, and is handed
// to the hasher, which returns it to free.
func (s *Service) copySpooled(ctx context.Context, f *fill, body io.Reader, spool *os.File, free chan []byte, toHash chan<- []byte, progress chan<- struct{}) (int64, error) {
	var n int64
	for {
		buf := <-free
		k, rerr := body.Read(buf)
		if k > 0 {
			if n+int64(k) > f.size {
				return n, fmt.Errorf("proxy: %s: the upstream sent more than %d bytes", f.digest, f.size)
			}
			if _, err := spool.Write(buf[:k]); err != nil {
				return n, fmt.Errorf("proxy: spooling %s: %w", f.digest, err)
			}
			n += int64(k)
			f.mu.Lock()
			f.written = n
			f.cond.Broadcast()
			f.mu.Unlock()
			select {
			case progress <- struct{}{}:
			default:
			}
			toHash <- buf[:k]
		} else {
			free <- buf
		}
		if errors.Is(rerr, io.EOF) {
			return n, nil
		}
		if rerr != nil {
			if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
				return n, fmt.Errorf("proxy: %s: %w", f.digest, cause)
			}
			return n, fmt.Errorf("proxy: %s from the upstream: %w", f.digest, rerr)
		}
	}
}

// errStalled ends a blob fetch whose body stopped coming.
var errStalled = errors.New("the upstream stopped sending")

// pushBlob stores the complete spool file here, linked into the fill's
// repository.
func (s *Service) pushBlob(ctx context.Context, f *fill) error {
	file, err := os.Open(f.path)
	if err != nil {
		return err
	}
	defer file.Close()
	// A fill: the manifests naming the blob are here already, and a
	// quota counts it as it arrives.
	// Verified while fetched: the registry neither hashes it again nor
	// copies it through this process (registry.Vouched).
	req, err := http.NewRequestWithContext(registry.Vouched(meta.MarkFill(own(ctx))), http.MethodPost,
		"http://"+inproc.Host+"/v2/"+f.repo+"/blobs/uploads/?digest="+f.digest.String(), file)
	if err != nil {
		return err
	}
	req.ContentLength = f.size
	req.Header.Set("Content-Type", "application/octet-stream")
	return s.localDo(req, http.StatusCreated)
}

// reader follows the fill from its start, on a descriptor of its own.
func (f *fill) reader() (io.ReadCloser, error) {
	file, err := os.Open(f.path)
	if err != nil {
		return nil, fmt.Errorf("proxy: reading %s: %w", f.digest, err)
	}
	return &fillReader{f: f, file: file}, nil
}

// fillReader reads a fill as it is written.
type fillReader struct {
	f    *fill
	file *os.File
	off  int64
}

// wait waits for bytes past the reader's offset: how many are written
// there, or, with none, the fill's error or io.EOF at its end.
func (r *fillReader) wait() (int64, error) {
	f := r.f
	f.mu.Lock()
	defer f.mu.Unlock()
	for r.off >= f.written && !f.done && f.err == nil {
		f.cond.Wait()
	}
	switch avail := f.written - r.off; {
	case avail > 0:
		return avail, nil
	case f.err != nil:
		return 0, f.err
	default:
		return 0, io.EOF
	}
}

func (r *fillReader) Read(p []byte) (int, error) {
	avail, err := r.wait()
	if avail <= 0 {
		return 0, err
	}
	if int64(len(p)) > avail {
		p = p[:avail]
	}
	n, err := r.file.ReadAt(p, r.off)
	r.off += int64(n)
	if errors.Is(err, io.EOF) && n > 0 {
		err = nil
	}
	return n, err
}

// WriteTo writes the fill to w as it is written, handing the spool
// file itself to w where w can take it (an http.ResponseWriter over TCP
// then sends it with sendfile, no copy through this process).
func (r *fillReader) WriteTo(w io.Writer) (int64, error) {
	rf, direct := w.(io.ReaderFrom)
	if !direct {
		return io.Copy(w, onlyReader{r})
	}
	if _, err := r.file.Seek(r.off, io.SeekStart); err != nil {
		return 0, err
	}
	var total int64
	for {
		avail, err := r.wait()
		if avail <= 0 {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			return total, err
		}
		n, err := rf.ReadFrom(&io.LimitedReader{R: r.file, N: avail})
		r.off += n
		total += n
		if err != nil {
			return total, err
		}
		if n < avail {
			return total, io.ErrUnexpectedEOF
		}
	}
}

// onlyReader hides a reader's WriteTo from io.Copy.
type onlyReader struct{ io.Reader }

func (r *fillReader) Close() error { return r.file.Close() }
