package objectstoretest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/berthreg/berth/storage"
	"github.com/berthreg/berth/storage/objectstore"
)

// testBucketContract checks, straight on the adapter's bucket, the answers
// the Driver tells apart: missing keys, ranges at and past the end, ETag
// conditions on copies and part copies, exact copy ranges, unknown and
// completed uploads, deletes of missing keys.
func testBucketContract(t *testing.T, h *harness) {
	d := h.driver(t, Setup{})
	ctx := t.Context()
	b := d.Bucket()
	key, missing := d.Key("e/obj"), d.Key("e/missing")
	if err := b.Put(ctx, key, []byte("0123456789")); err != nil {
		t.Fatal(err)
	}
	obj, err := b.Head(ctx, key)
	if err != nil || obj.Size != 10 || obj.ETag == "" || obj.ModTime.IsZero() || obj.Key != key {
		t.Fatalf("Head = %+v, %v", obj, err)
	}
	if _, err := b.Head(ctx, missing); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Head of a missing key: %v", err)
	}
	if _, err := b.Get(ctx, missing, 0); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Get of a missing key: %v", err)
	}
	for _, off := range []int64{10, 11, 1 << 40} {
		if rc, err := b.Get(ctx, key, off); !errors.Is(err, objectstore.ErrInvalidRange) {
			if err == nil {
				rc.Close()
			}
			t.Errorf("Get at %d of 10 bytes: %v, want ErrInvalidRange", off, err)
		}
	}
	rc, err := b.Get(ctx, key, 9)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || string(got) != "9" {
		t.Errorf("Get at 9 = %q, %v", got, err)
	}
	if err := b.Copy(ctx, missing, d.Key("e/copy"), ""); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Copy of a missing key: %v", err)
	}

	// The copy condition reaches the server: a stale ETag fails the copy.
	if err := b.Copy(ctx, key, d.Key("e/copy"), `"0123456789abcdef0123456789abcdef"`); err == nil {
		t.Error("Copy with a stale ETag succeeded")
	}
	if _, err := b.Head(ctx, d.Key("e/copy")); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Head after a refused copy: %v", err)
	}
	if err := b.Copy(ctx, key, d.Key("e/copy"), obj.ETag); err != nil {
		t.Errorf("Copy with the current ETag: %v", err)
	}

	// Multipart: a stale ETag fails a part copy; ranges are exact; a
	// completed upload is ErrNoSuchUpload, and aborting it is not an error.
	big := pattern(5, minPart+7)
	if err := b.Put(ctx, d.Key("e/big"), big); err != nil {
		t.Fatal(err)
	}
	bigObj, err := b.Head(ctx, d.Key("e/big"))
	if err != nil {
		t.Fatal(err)
	}
	dst := d.Key("e/assembled")
	id, err := b.CreateMultipart(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := b.AbortMultipart(context.WithoutCancel(ctx), dst, id); err != nil {
			t.Errorf("AbortMultipart of a completed upload: %v", err)
		}
	}()
	if _, err := b.CopyPart(ctx, dst, id, 1, d.Key("e/big"), 0, minPart, obj.ETag); err == nil {
		t.Error("CopyPart with another object's ETag succeeded")
	}
	e1, err := b.CopyPart(ctx, dst, id, 1, d.Key("e/big"), 1, minPart+1, bigObj.ETag)
	if err != nil {
		t.Fatal(err)
	}
	e2, err := b.UploadPart(ctx, dst, id, 2, []byte("tail"))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.CompleteMultipart(ctx, dst, id, []objectstore.Part{{Number: 1, ETag: e1}, {Number: 2, ETag: e2}}); err != nil {
		t.Fatal(err)
	}
	want := append(append([]byte{}, big[1:minPart+1]...), "tail"...)
	if got := readObject(t, d, "e/assembled"); !bytes.Equal(got, want) {
		t.Fatalf("assembled %d bytes, want %d matching", len(got), len(want))
	}
	if err := b.CompleteMultipart(ctx, dst, id, []objectstore.Part{{Number: 1, ETag: e1}}); !errors.Is(err, objectstore.ErrNoSuchUpload) {
		t.Errorf("CompleteMultipart of a completed upload: %v", err)
	}
	if _, err := b.UploadPart(ctx, dst, "no-such-upload", 1, []byte("x")); !errors.Is(err, objectstore.ErrNoSuchUpload) {
		t.Errorf("UploadPart to an unknown upload: %v", err)
	}

	// Deleting missing keys, one or several, is not an error.
	if err := b.Delete(ctx, []string{missing}); err != nil {
		t.Errorf("Delete of a missing key: %v", err)
	}
	if err := b.Delete(ctx, []string{missing, key, d.Key("e/copy")}); err != nil {
		t.Errorf("Delete of three keys, one missing: %v", err)
	}
	if _, err := b.Head(ctx, key); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Head after Delete: %v", err)
	}
}

// testAwkwardKeys stores, lists, walks, moves and deletes keys with
// characters that URL encoding treats specially, in the path and in the
// URL-encoded listings and copy sources.
func testAwkwardKeys(t *testing.T, h *harness) {
	d := h.driver(t, Setup{})
	names := []string{"a b", "a+b", "a%2Bb", "a%b", "a&b=c?d#e", "ü/ß", "tilde~", "semi;colon", "quote'\"", "star*", "plus+/x+y"}
	for _, n := range names {
		putObject(t, d, "k/"+n, 0, []byte(n))
	}
	var walked []string
	if err := d.Walk(t.Context(), "k", func(fi storage.FileInfo) error {
		walked = append(walked, strings.TrimPrefix(fi.Path, "k/"))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if want := slices.Sorted(slices.Values(names)); !slices.Equal(walked, want) {
		t.Fatalf("Walk = %q, want %q", walked, want)
	}
	var want []string
	for _, n := range names {
		want = append(want, "k/"+strings.SplitN(n, "/", 2)[0])
	}
	slices.Sort(want)
	want = slices.Compact(want)
	for _, page := range []int{1, 0} {
		d := h.driver(t, Setup{Root: d.Root(), Options: func(o *objectstore.Options) { o.ListPageSize = page }})
		got, err := d.List(t.Context(), "k", "", 0)
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("page %d: List = %q, %v; want %q", page, got, err, want)
		}
	}
	for _, n := range names {
		if got := readObject(t, d, "k/"+n); string(got) != n {
			t.Fatalf("read %q: %q", n, got)
		}
		if err := d.Move(t.Context(), "k/"+n, "m/"+n); err != nil {
			t.Fatalf("Move %q: %v", n, err)
		}
		if got := readObject(t, d, "m/"+n); string(got) != n {
			t.Fatalf("read moved %q: %q", n, got)
		}
	}
	if err := d.Delete(t.Context(), "m"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.List(t.Context(), "m", "", 0); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("List after Delete: %v", err)
	}
}
