package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/berthreg/berth/storage"
)

var errInvalidPath = storage.ErrInvalidPath

// Driver is a storage.Driver backed by an S3 bucket. Create it with New; it
// is safe for concurrent use.
type Driver struct {
	client   *s3.Client
	bucket   string
	root     string // key prefix, "" or ending in "/"
	partSize int64
	class    types.StorageClass
	sse      types.ServerSideEncryption
	kmsKeyID string
	// maxCopyPart is the largest single server-side copy (MaxPartSize;
	// lowered by tests to exercise multipart copies).
	maxCopyPart int64
	// listPage is the MaxKeys of List's requests (0: S3's 1000; lowered by
	// tests to exercise paging).
	listPage int32
}

var _ storage.Driver = (*Driver)(nil)

// key maps a driver path to its object key.
func (d *Driver) key(p string) string { return d.root + p }

// dirKey is the key prefix of everything below the directory p ("" is the
// root).
func (d *Driver) dirKey(p string) string {
	if p == "" {
		return d.root
	}
	return d.root + p + "/"
}

// copySource is the CopySource of the object with key k: "bucket/key",
// URL-encoded element by element.
func (d *Driver) copySource(k string) string {
	elems := strings.Split(d.bucket+"/"+k, "/")
	for i, e := range elems {
		elems[i] = url.PathEscape(e)
	}
	return strings.Join(elems, "/")
}

// notFound reports whether err is S3's answer for a missing key.
func notFound(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NoSuchKey", "NotFound":
			return true
		case "NoSuchBucket", "NoSuchUpload":
			return false
		}
	}
	var nk *types.NoSuchKey
	var nf *types.NotFound
	if errors.As(err, &nk) || errors.As(err, &nf) {
		return true
	}
	var re *awshttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() == 404
}

// invalidRange reports whether err is S3's 416 answer to a Range request.
func invalidRange(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "InvalidRange" {
		return true
	}
	var re *awshttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() == 416
}

// wrap annotates an S3 error with the operation and path, adding
// storage.ErrNotFound when S3 reports a missing key.
func wrap(op, p string, err error) error {
	if notFound(err) {
		return fmt.Errorf("s3: %s %q: %w: %w", op, p, storage.ErrNotFound, err)
	}
	return fmt.Errorf("s3: %s %q: %w", op, p, err)
}

// head returns the size and ETag of the object at p.
func (d *Driver) head(ctx context.Context, op, p string) (*s3.HeadObjectOutput, error) {
	out, err := d.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &d.bucket, Key: aws.String(d.key(p))})
	if err != nil {
		return nil, wrap(op, p, err)
	}
	return out, nil
}

// Reader implements storage.Driver with a GetObject from offset.
func (d *Driver) Reader(ctx context.Context, p string, offset int64) (io.ReadCloser, error) {
	if err := checkPath(p); err != nil {
		return nil, err
	}
	if offset < 0 {
		return nil, fmt.Errorf("s3: read %q at %d: %w", p, offset, storage.ErrInvalidOffset)
	}
	in := &s3.GetObjectInput{Bucket: &d.bucket, Key: aws.String(d.key(p))}
	if offset > 0 {
		in.Range = aws.String(fmt.Sprintf("bytes=%d-", offset))
	}
	out, err := d.client.GetObject(ctx, in)
	if err == nil {
		return out.Body, nil
	}
	if !invalidRange(err) {
		return nil, wrap("read", p, err)
	}
	// The offset is at or past the end: tell the two apart.
	h, herr := d.head(ctx, "read", p)
	if herr != nil {
		return nil, herr
	}
	if size := aws.ToInt64(h.ContentLength); offset != size {
		return nil, fmt.Errorf("s3: read %q at %d of %d bytes: %w", p, offset, size, storage.ErrInvalidOffset)
	}
	return io.NopCloser(bytes.NewReader(nil)), nil
}

// Stat implements storage.Driver: a HeadObject, then a one-key listing to
// recognise a directory prefix.
func (d *Driver) Stat(ctx context.Context, p string) (storage.FileInfo, error) {
	if err := checkPath(p); err != nil {
		return storage.FileInfo{}, err
	}
	h, err := d.head(ctx, "stat", p)
	if err == nil {
		return storage.FileInfo{Path: p, Size: aws.ToInt64(h.ContentLength), ModTime: aws.ToTime(h.LastModified)}, nil
	}
	if !errors.Is(err, storage.ErrNotFound) {
		return storage.FileInfo{}, err
	}
	isDir, derr := d.dirExists(ctx, "stat", p)
	if derr != nil {
		return storage.FileInfo{}, derr
	}
	if !isDir {
		return storage.FileInfo{}, err
	}
	return storage.FileInfo{Path: p, IsDir: true}, nil
}

// dirExists reports whether any object lies below the directory p.
func (d *Driver) dirExists(ctx context.Context, op, p string) (bool, error) {
	out, err := d.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{
		Bucket:  &d.bucket,
		Prefix:  aws.String(d.dirKey(p)),
		MaxKeys: aws.Int32(1),
	})
	if err != nil {
		return false, wrap(op, p, err)
	}
	return len(out.Contents) > 0, nil
}

// List implements storage.Driver with a delimited ListObjectsV2.
//
// S3 orders a directory by its key with the trailing slash ("l/b.txt" before
// "l/b/"), the contract orders it by its path ("l/b" before "l/b.txt"), so
// List reads on past the limit-th child until no directory still to come can
// sort before it; listing starts at "after", which no child sorting after
// it can precede.
func (d *Driver) List(ctx context.Context, prefix, after string, limit int) ([]string, error) {
	if err := checkPrefix(prefix); err != nil {
		return nil, err
	}
	base := d.dirKey(prefix)
	in := &s3.ListObjectsV2Input{
		Bucket:    &d.bucket,
		Prefix:    aws.String(base),
		Delimiter: aws.String("/"),
	}
	if d.listPage > 0 {
		in.MaxKeys = aws.Int32(d.listPage)
	}
	if after != "" && d.key(after) > base {
		in.StartAfter = aws.String(d.key(after))
	}
	var names []string
	seen := false // whether any key lies below prefix at all
	for {
		out, err := d.client.ListObjectsV2(ctx, in)
		if err != nil {
			return nil, wrap("list", prefix, err)
		}
		last := ""
		for _, o := range out.Contents {
			k := aws.ToString(o.Key)
			last = max(last, k)
			seen = true
			if n := strings.TrimPrefix(k, d.root); n > after {
				names = append(names, n)
			}
		}
		for _, cp := range out.CommonPrefixes {
			k := aws.ToString(cp.Prefix)
			last = max(last, k)
			seen = true
			if n := strings.TrimSuffix(strings.TrimPrefix(k, d.root), "/"); n > after {
				names = append(names, n)
			}
		}
		if !aws.ToBool(out.IsTruncated) || out.NextContinuationToken == nil {
			break
		}
		if limit > 0 && len(names) >= limit {
			slices.Sort(names)
			if !dirMayPrecede(d.root+names[limit-1], base, last) {
				break
			}
		}
		in.ContinuationToken = out.NextContinuationToken
	}
	slices.Sort(names)
	names = slices.Compact(names)
	if limit > 0 && len(names) > limit {
		names = names[:limit]
	}
	if len(names) == 0 && prefix != "" && !seen {
		ok, err := d.dirExists(ctx, "list", prefix)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("s3: list %q: %w", prefix, storage.ErrNotFound)
		}
	}
	return names, nil
}

// dirMayPrecede reports whether a directory listed after the key last could
// sort before the key l in path order. Such a directory n+"/" must have n a
// proper prefix of l (longer than base) followed in l by a byte below '/',
// and n+"/" > last.
func dirMayPrecede(l, base, last string) bool {
	for i := len(base) + 1; i < len(l); i++ {
		if l[i] < '/' && l[:i]+"/" > last {
			return true
		}
	}
	return false
}

// Walk implements storage.Driver with an undelimited ListObjectsV2, whose
// key order is the lexical path order.
func (d *Driver) Walk(ctx context.Context, prefix string, fn func(storage.FileInfo) error) error {
	if err := checkPrefix(prefix); err != nil {
		return err
	}
	in := &s3.ListObjectsV2Input{Bucket: &d.bucket, Prefix: aws.String(d.dirKey(prefix))}
	for {
		out, err := d.client.ListObjectsV2(ctx, in)
		if err != nil {
			return wrap("walk", prefix, err)
		}
		for _, o := range out.Contents {
			fi := storage.FileInfo{
				Path:    strings.TrimPrefix(aws.ToString(o.Key), d.root),
				Size:    aws.ToInt64(o.Size),
				ModTime: aws.ToTime(o.LastModified),
			}
			if err := fn(fi); err != nil {
				return err
			}
		}
		if !aws.ToBool(out.IsTruncated) || out.NextContinuationToken == nil {
			return nil
		}
		in.ContinuationToken = out.NextContinuationToken
	}
}

// Move implements storage.Driver: a server-side copy (multipart above
// 5 GiB) then a delete of the source. S3 has no rename, so the move is not
// atomic as a whole: dst is replaced atomically, and src disappears just
// after; a crash in between leaves both, never neither.
func (d *Driver) Move(ctx context.Context, src, dst string) error {
	if err := checkPath(src); err != nil {
		return err
	}
	if err := checkPath(dst); err != nil {
		return err
	}
	h, err := d.head(ctx, "move", src)
	if err != nil {
		return err
	}
	if src == dst {
		return nil
	}
	size, etag := aws.ToInt64(h.ContentLength), h.ETag
	if size <= d.maxCopyPart {
		in := &s3.CopyObjectInput{
			Bucket:            &d.bucket,
			Key:               aws.String(d.key(dst)),
			CopySource:        aws.String(d.copySource(d.key(src))),
			CopySourceIfMatch: etag,
		}
		if d.class != "" {
			in.StorageClass = d.class
		}
		if d.sse != "" {
			in.ServerSideEncryption = d.sse
			in.SSEKMSKeyId = d.kmsID()
		}
		if _, err := d.client.CopyObject(ctx, in); err != nil {
			return wrap("move", src, err)
		}
	} else if err := d.multipartCopy(ctx, src, dst, size, etag); err != nil {
		return err
	}
	if _, err := d.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &d.bucket, Key: aws.String(d.key(src))}); err != nil {
		return wrap("move: delete source", src, err)
	}
	return nil
}

// kmsID is the SSEKMSKeyId request field.
func (d *Driver) kmsID() *string {
	if d.kmsKeyID == "" {
		return nil
	}
	return aws.String(d.kmsKeyID)
}

// createUpload starts a multipart upload for the object at p.
func (d *Driver) createUpload(ctx context.Context, p string) (*string, error) {
	in := &s3.CreateMultipartUploadInput{Bucket: &d.bucket, Key: aws.String(d.key(p))}
	if d.class != "" {
		in.StorageClass = d.class
	}
	if d.sse != "" {
		in.ServerSideEncryption = d.sse
		in.SSEKMSKeyId = d.kmsID()
	}
	out, err := d.client.CreateMultipartUpload(ctx, in)
	if err != nil {
		return nil, wrap("create multipart upload", p, err)
	}
	return out.UploadId, nil
}

// copyParts adds to the multipart upload id of dst, from part number first
// on, server-side copies of bytes [0, n) of the object src (with ETag etag),
// in at most maxCopyPart-sized ranges of near-equal size, so that every
// range is at least MinPartSize when n is. It returns the completed parts.
func (d *Driver) copyParts(ctx context.Context, id *string, src, dst string, n int64, etag *string, first int32) ([]types.CompletedPart, error) {
	var parts []types.CompletedPart
	for _, r := range copyRanges(n, d.maxCopyPart) {
		num := first + int32(len(parts))
		out, err := d.client.UploadPartCopy(ctx, &s3.UploadPartCopyInput{
			Bucket:            &d.bucket,
			Key:               aws.String(d.key(dst)),
			UploadId:          id,
			PartNumber:        aws.Int32(num),
			CopySource:        aws.String(d.copySource(d.key(src))),
			CopySourceRange:   aws.String(fmt.Sprintf("bytes=%d-%d", r[0], r[1]-1)),
			CopySourceIfMatch: etag,
		})
		if err != nil {
			return nil, wrap("copy part", src, err)
		}
		parts = append(parts, types.CompletedPart{ETag: out.CopyPartResult.ETag, PartNumber: aws.Int32(num)})
	}
	return parts, nil
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

// completeUpload completes the multipart upload id of p with parts.
func (d *Driver) completeUpload(ctx context.Context, p string, id *string, parts []types.CompletedPart) error {
	_, err := d.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket:          &d.bucket,
		Key:             aws.String(d.key(p)),
		UploadId:        id,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	})
	if err != nil {
		return wrap("complete multipart upload", p, err)
	}
	return nil
}

// abortUpload aborts the multipart upload id of p, even when ctx is already
// cancelled.
func (d *Driver) abortUpload(ctx context.Context, p string, id *string) error {
	_, err := d.client.AbortMultipartUpload(context.WithoutCancel(ctx), &s3.AbortMultipartUploadInput{
		Bucket:   &d.bucket,
		Key:      aws.String(d.key(p)),
		UploadId: id,
	})
	var ae smithy.APIError
	if err != nil && !(errors.As(err, &ae) && ae.ErrorCode() == "NoSuchUpload") {
		return wrap("abort multipart upload", p, err)
	}
	return nil
}

// multipartCopy copies src (size bytes, ETag etag) to dst with UploadPartCopy.
func (d *Driver) multipartCopy(ctx context.Context, src, dst string, size int64, etag *string) error {
	id, err := d.createUpload(ctx, dst)
	if err != nil {
		return err
	}
	parts, err := d.copyParts(ctx, id, src, dst, size, etag, 1)
	if err == nil {
		err = d.completeUpload(ctx, dst, id, parts)
	}
	if err != nil {
		return errors.Join(err, d.abortUpload(ctx, dst, id))
	}
	return nil
}

// Delete implements storage.Driver: the object at p if there is one,
// otherwise every object below the directory p, with DeleteObjects in
// batches of up to 1000 keys.
func (d *Driver) Delete(ctx context.Context, p string) error {
	if err := checkPath(p); err != nil {
		return err
	}
	_, err := d.head(ctx, "delete", p)
	if err == nil {
		if _, err := d.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &d.bucket, Key: aws.String(d.key(p))}); err != nil {
			return wrap("delete", p, err)
		}
		return nil
	}
	if !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	in := &s3.ListObjectsV2Input{Bucket: &d.bucket, Prefix: aws.String(d.dirKey(p))}
	deleted := 0
	for {
		out, lerr := d.client.ListObjectsV2(ctx, in)
		if lerr != nil {
			return wrap("delete", p, lerr)
		}
		if len(out.Contents) > 0 {
			ids := make([]types.ObjectIdentifier, len(out.Contents))
			for i, o := range out.Contents {
				ids[i] = types.ObjectIdentifier{Key: o.Key}
			}
			res, derr := d.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{
				Bucket: &d.bucket,
				Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)},
			})
			if derr != nil {
				return wrap("delete", p, derr)
			}
			if len(res.Errors) > 0 {
				e := res.Errors[0]
				return fmt.Errorf("s3: delete %q: %d keys failed, first %s: %s %s", p, len(res.Errors),
					aws.ToString(e.Key), aws.ToString(e.Code), aws.ToString(e.Message))
			}
			deleted += len(ids)
		}
		if !aws.ToBool(out.IsTruncated) || out.NextContinuationToken == nil {
			break
		}
		in.ContinuationToken = out.NextContinuationToken
	}
	if deleted == 0 {
		return err
	}
	return nil
}
