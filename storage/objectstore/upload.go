package objectstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// upload assembles one object from parts: bytes buffered up to PartSize and
// uploaded as they fill, and ranges of existing objects copied server-side.
// Small objects that never fill a part are stored with one Put. Like every
// writer it is used by one goroutine at a time.
type upload struct {
	d      *Driver
	path   string
	id     string // multipart upload id; "" until the first part
	parts  []Part
	buf    []byte // bytes not yet uploaded, at most PartSize
	pooled bool   // buf came from the driver's pool of PartSize buffers
	bg     *background
}

// background tracks the part uploads of one upload that run in goroutines
// (Options.Concurrency > 1).
type background struct {
	wg    sync.WaitGroup
	slots chan struct{} // one token per upload running
	mu    sync.Mutex
	etags map[int32]string // by part number, as uploads finish
	err   error            // every failure so far
}

// smallBuffer is the capacity up to which a buffer grows by doubling;
// beyond it the buffer is swapped for a pooled one of PartSize, so small
// objects (manifests, configs, tiny blobs) never hold a whole part's memory
// and large ones reuse part buffers.
const smallBuffer = 256 << 10

// grow makes room in the buffer for n more bytes (the caller never asks
// beyond PartSize in total).
func (u *upload) grow(n int) {
	need := len(u.buf) + n
	if need <= cap(u.buf) {
		return
	}
	if need > smallBuffer {
		bp := u.d.parts.Get().(*[]byte)
		b := append((*bp)[:0], u.buf...)
		u.release()
		u.buf, u.pooled = b, true
		return
	}
	b := make([]byte, len(u.buf), max(need, 2*cap(u.buf), 16<<10))
	copy(b, u.buf)
	u.buf = b
}

// release returns a pooled buffer and forgets the buffer.
func (u *upload) release() {
	if u.pooled {
		b := u.buf[:0]
		u.d.parts.Put(&b)
	}
	u.buf, u.pooled = nil, false
}

// size is the number of bytes the upload holds.
func (u *upload) size() int64 {
	n := int64(len(u.buf))
	for _, p := range u.parts {
		n += p.Size
	}
	return n
}

// start begins the multipart upload unless it has begun.
func (u *upload) start(ctx context.Context) error {
	if u.id != "" {
		return nil
	}
	id, err := u.d.b.CreateMultipart(ctx, u.d.Key(u.path))
	if err != nil {
		return u.d.fail("create multipart upload", u.path, err)
	}
	u.id = id
	return nil
}

// nextPart returns the number of the next part, or an error past MaxParts.
func (u *upload) nextPart() (int32, error) {
	num := len(u.parts) + 1
	if num > u.d.o.MaxParts {
		return 0, fmt.Errorf("%s: write %q: more than %d parts of %d bytes; raise the part size",
			u.d.name, u.path, u.d.o.MaxParts, u.d.o.PartSize)
	}
	return int32(num), nil
}

// write buffers p, uploading a part whenever PartSize bytes are buffered.
// It returns how many bytes of p it took.
func (u *upload) write(ctx context.Context, p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		take := min(len(p), int(u.d.o.PartSize)-len(u.buf))
		u.grow(take)
		u.buf = append(u.buf, p[:take]...)
		p = p[take:]
		written += take
		if int64(len(u.buf)) == u.d.o.PartSize {
			if err := u.flush(ctx); err != nil {
				return written, err
			}
		}
	}
	return written, nil
}

// flush uploads the buffer as the next part and empties it: in line, or
// with Options.Concurrency > 1 in a goroutine (waiting while that many run),
// handing the buffer over; wait collects the results.
func (u *upload) flush(ctx context.Context) error {
	if err := u.start(ctx); err != nil {
		return err
	}
	num, err := u.nextPart()
	if err != nil {
		return err
	}
	key, size := u.d.Key(u.path), int64(len(u.buf))
	if u.d.o.Concurrency <= 1 {
		etag, err := u.d.b.UploadPart(ctx, key, u.id, num, u.buf)
		if err != nil {
			return u.d.fail("upload part", u.path, err)
		}
		u.parts = append(u.parts, Part{Number: num, ETag: etag, Size: size})
		u.buf = u.buf[:0]
		return nil
	}
	if u.bg == nil {
		u.bg = &background{slots: make(chan struct{}, u.d.o.Concurrency), etags: make(map[int32]string)}
	}
	bg := u.bg
	select {
	case bg.slots <- struct{}{}:
	case <-ctx.Done():
		return u.d.fail("upload part", u.path, ctx.Err())
	}
	bg.mu.Lock()
	err = bg.err
	bg.mu.Unlock()
	if err != nil {
		<-bg.slots
		return err
	}
	u.parts = append(u.parts, Part{Number: num, Size: size})
	buf, pooled := u.buf, u.pooled
	u.buf, u.pooled = nil, false
	bg.wg.Add(1)
	go func() {
		defer bg.wg.Done()
		etag, err := u.d.b.UploadPart(ctx, key, u.id, num, buf)
		if pooled {
			b := buf[:0]
			u.d.parts.Put(&b)
		}
		bg.mu.Lock()
		if err != nil {
			bg.err = errors.Join(bg.err, u.d.fail("upload part", u.path, err))
		} else {
			bg.etags[num] = etag
		}
		bg.mu.Unlock()
		<-bg.slots
	}()
	return nil
}

// wait waits for the part uploads running in the background and records
// their ETags, returning their failures.
func (u *upload) wait() error {
	bg := u.bg
	if bg == nil {
		return nil
	}
	bg.wg.Wait()
	bg.mu.Lock()
	defer bg.mu.Unlock()
	for i, p := range u.parts {
		if etag, ok := bg.etags[p.Number]; ok {
			u.parts[i].ETag = etag
		}
	}
	clear(bg.etags)
	return bg.err
}

// copyFrom appends bytes [0, n) of the object src (with ETag etag) as parts
// copied server-side, in at most MaxPartSize ranges of near-equal size, so
// that every range is at least MinPartSize when n is. Buffered bytes stay
// buffered and follow the copied ones.
func (u *upload) copyFrom(ctx context.Context, src string, n int64, etag string) error {
	if err := u.start(ctx); err != nil {
		return err
	}
	for _, r := range copyRanges(n, u.d.o.MaxPartSize) {
		num, err := u.nextPart()
		if err != nil {
			return err
		}
		pe, err := u.d.b.CopyPart(ctx, u.d.Key(u.path), u.id, num, u.d.Key(src), r[0], r[1], etag)
		if err != nil {
			return u.d.fail("copy part", src, err)
		}
		u.parts = append(u.parts, Part{Number: num, ETag: pe, Size: r[1] - r[0]})
	}
	return nil
}

// copyRanges splits [0, n) into the fewest ranges of at most limit bytes,
// of near-equal sizes.
func copyRanges(n, limit int64) [][2]int64 {
	if n <= 0 {
		return nil
	}
	count := (n + limit - 1) / limit
	size := (n + count - 1) / count
	var out [][2]int64
	for start := int64(0); start < n; start += size {
		out = append(out, [2]int64{start, min(start+size, n)})
	}
	return out
}

// finish stores everything as the object: one Put when no part was
// uploaded, else the buffer as the last part and the upload completed.
func (u *upload) finish(ctx context.Context) error {
	if err := u.wait(); err != nil {
		return err
	}
	if u.id == "" {
		if err := u.d.b.Put(ctx, u.d.Key(u.path), u.buf); err != nil {
			return u.d.fail("put", u.path, err)
		}
		return nil
	}
	if len(u.buf) > 0 || len(u.parts) == 0 {
		if err := u.flush(ctx); err != nil {
			return err
		}
		if err := u.wait(); err != nil {
			return err
		}
	}
	return u.complete(ctx)
}

// complete completes the multipart upload with the parts uploaded.
func (u *upload) complete(ctx context.Context) error {
	if err := u.d.b.CompleteMultipart(ctx, u.d.Key(u.path), u.id, u.parts); err != nil {
		return u.d.fail("complete multipart upload", u.path, err)
	}
	return nil
}

// abort discards the multipart upload, if one began, even when ctx is
// already cancelled.
func (u *upload) abort(ctx context.Context) error {
	_ = u.wait() // no part may land after the abort
	if u.id == "" {
		return nil
	}
	err := u.d.b.AbortMultipart(context.WithoutCancel(ctx), u.d.Key(u.path), u.id)
	if err != nil && !errors.Is(err, ErrNoSuchUpload) {
		return u.d.fail("abort multipart upload", u.path, err)
	}
	return nil
}
