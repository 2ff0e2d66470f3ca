package oss

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"

	"github.com/berthreg/berth/storage"
	"github.com/berthreg/berth/storage/objectstore"
)

// bucket is the objectstore.Bucket of one OSS bucket.
type bucket struct {
	client   *oss.Client
	name     string
	sse      string  // "", "AES256" or "KMS"
	kmsKeyID *string // with sse "KMS"
}

var (
	_ objectstore.Bucket    = (*bucket)(nil)
	_ objectstore.Presigner = (*bucket)(nil)
)

// mapErr translates OSS's answers into the errors objectstore tells apart.
// A HEAD answer has no body, so its code may be missing (OSS repeats the
// error in its x-oss-err header, which the SDK decodes; other servers
// don't): the status code decides then.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	var se *oss.ServiceError
	if !errors.As(err, &se) {
		return err
	}
	switch {
	case se.Code == "NoSuchUpload":
		return fmt.Errorf("%w: %w", objectstore.ErrNoSuchUpload, err)
	case se.Code == "NoSuchBucket":
		return err
	case se.Code == "NoSuchKey" || se.StatusCode == http.StatusNotFound:
		return fmt.Errorf("%w: %w", storage.ErrNotFound, err)
	case se.Code == "InvalidRange" || se.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		return fmt.Errorf("%w: %w", objectstore.ErrInvalidRange, err)
	case se.StatusCode >= 500 || se.StatusCode == http.StatusTooManyRequests:
		// Still failing after the SDK's retries.
		return fmt.Errorf("%w: %w", storage.ErrUnavailable, err)
	}
	return err
}

// ifMatch is an optional ETag condition.
func ifMatch(etag string) *string {
	if etag == "" {
		return nil
	}
	return &etag
}

func (b *bucket) Head(ctx context.Context, key string) (objectstore.Object, error) {
	out, err := b.client.HeadObject(ctx, &oss.HeadObjectRequest{Bucket: &b.name, Key: &key})
	if err != nil {
		return objectstore.Object{}, mapErr(err)
	}
	return objectstore.Object{
		Key: key, Size: out.ContentLength, ModTime: oss.ToTime(out.LastModified), ETag: oss.ToString(out.ETag),
	}, nil
}

// Get asks for the range "bytes=offset-" with OSS's standard range
// behaviour: without it OSS answers a range starting past the end with the
// whole object and 200 instead of 416.
func (b *bucket) Get(ctx context.Context, key string, offset int64) (io.ReadCloser, error) {
	in := &oss.GetObjectRequest{Bucket: &b.name, Key: &key}
	if offset > 0 {
		in.Range = oss.Ptr(fmt.Sprintf("bytes=%d-", offset))
		in.RangeBehavior = oss.Ptr("standard")
	}
	out, err := b.client.GetObject(ctx, in)
	if err != nil {
		return nil, mapErr(err)
	}
	if offset > 0 && out.StatusCode != http.StatusPartialContent {
		// A server that ignored the range would hand out the object from
		// byte 0: never return that as the bytes from offset.
		out.Body.Close()
		return nil, fmt.Errorf("GET with range from %d answered %s, not 206 Partial Content", offset, out.Status)
	}
	return out.Body, nil
}

func (b *bucket) Put(ctx context.Context, key string, body []byte) error {
	_, err := b.client.PutObject(ctx, &oss.PutObjectRequest{
		Bucket:                    &b.name,
		Key:                       &key,
		Body:                      bytes.NewReader(body),
		ContentLength:             oss.Ptr(int64(len(body))),
		ServerSideEncryption:      b.sseHeader(),
		ServerSideEncryptionKeyId: b.kmsKeyID,
	})
	return mapErr(err)
}

// sseHeader is the x-oss-server-side-encryption value of new objects.
func (b *bucket) sseHeader() *string {
	if b.sse == "" {
		return nil
	}
	return &b.sse
}

func (b *bucket) List(ctx context.Context, req objectstore.ListRequest) (objectstore.Page, error) {
	in := &oss.ListObjectsV2Request{Bucket: &b.name, Prefix: &req.Prefix}
	if req.Delimited {
		in.Delimiter = oss.Ptr("/")
	}
	if req.StartAfter != "" {
		in.StartAfter = &req.StartAfter
	}
	if req.Token != "" {
		in.ContinuationToken = &req.Token
	}
	if req.MaxKeys > 0 {
		in.MaxKeys = int32(min(req.MaxKeys, 1000))
	}
	out, err := b.client.ListObjectsV2(ctx, in)
	if err != nil {
		return objectstore.Page{}, mapErr(err)
	}
	var page objectstore.Page
	for _, o := range out.Contents {
		page.Objects = append(page.Objects, objectstore.Object{
			Key: oss.ToString(o.Key), Size: o.Size, ModTime: oss.ToTime(o.LastModified), ETag: oss.ToString(o.ETag),
		})
	}
	for _, cp := range out.CommonPrefixes {
		page.Prefixes = append(page.Prefixes, oss.ToString(cp.Prefix))
	}
	if out.IsTruncated {
		page.Next = oss.ToString(out.NextContinuationToken)
		if page.Next == "" {
			return objectstore.Page{}, errors.New("listing truncated without a continuation token")
		}
	}
	return page, nil
}

func (b *bucket) Copy(ctx context.Context, src, dst, etag string) error {
	_, err := b.client.CopyObject(ctx, &oss.CopyObjectRequest{
		Bucket:                    &b.name,
		Key:                       &dst,
		SourceKey:                 &src,
		IfMatch:                   ifMatch(etag),
		ServerSideEncryption:      b.sseHeader(),
		ServerSideEncryptionKeyId: b.kmsKeyID,
	})
	return mapErr(err)
}

// Delete removes one key with DeleteObject, several with one
// DeleteMultipleObjects in verbose mode: OSS reports no per-key failures,
// so a key missing from the answer's Deleted list is taken as not deleted.
func (b *bucket) Delete(ctx context.Context, keys []string) error {
	if len(keys) == 1 {
		_, err := b.client.DeleteObject(ctx, &oss.DeleteObjectRequest{Bucket: &b.name, Key: &keys[0]})
		if err = mapErr(err); errors.Is(err, storage.ErrNotFound) {
			return nil
		}
		return err
	}
	objs := make([]oss.ObjectIdentifier, len(keys))
	for i := range keys {
		objs[i] = oss.ObjectIdentifier{Key: &keys[i]}
	}
	res, err := b.client.DeleteMultipleObjects(ctx, &oss.DeleteMultipleObjectsRequest{
		Bucket: &b.name,
		Delete: &oss.Delete{Objects: objs},
	})
	if err != nil {
		return mapErr(err)
	}
	if n := len(res.DeletedObjects); n < len(keys) {
		return fmt.Errorf("deleting %d keys: %d reported deleted", len(keys), n)
	}
	return nil
}

func (b *bucket) CreateMultipart(ctx context.Context, key string) (string, error) {
	out, err := b.client.InitiateMultipartUpload(ctx, &oss.InitiateMultipartUploadRequest{
		Bucket:                    &b.name,
		Key:                       &key,
		ServerSideEncryption:      b.sseHeader(),
		ServerSideEncryptionKeyId: b.kmsKeyID,
	})
	if err != nil {
		return "", mapErr(err)
	}
	if oss.ToString(out.UploadId) == "" {
		return "", errors.New("initiate multipart upload: no upload id in the answer")
	}
	return *out.UploadId, nil
}

func (b *bucket) UploadPart(ctx context.Context, key, uploadID string, num int32, body []byte) (string, error) {
	out, err := b.client.UploadPart(ctx, &oss.UploadPartRequest{
		Bucket:        &b.name,
		Key:           &key,
		UploadId:      &uploadID,
		PartNumber:    num,
		Body:          bytes.NewReader(body),
		ContentLength: oss.Ptr(int64(len(body))),
	})
	if err != nil {
		return "", mapErr(err)
	}
	return oss.ToString(out.ETag), nil
}

func (b *bucket) CopyPart(ctx context.Context, key, uploadID string, num int32, src string, start, end int64, etag string) (string, error) {
	out, err := b.client.UploadPartCopy(ctx, &oss.UploadPartCopyRequest{
		Bucket:     &b.name,
		Key:        &key,
		UploadId:   &uploadID,
		PartNumber: num,
		SourceKey:  &src,
		Range:      oss.Ptr(fmt.Sprintf("bytes=%d-%d", start, end-1)),
		IfMatch:    ifMatch(etag),
	})
	if err != nil {
		return "", mapErr(err)
	}
	return oss.ToString(out.ETag), nil
}

func (b *bucket) CompleteMultipart(ctx context.Context, key, uploadID string, parts []objectstore.Part) error {
	ups := make([]oss.UploadPart, len(parts))
	for i, p := range parts {
		ups[i] = oss.UploadPart{PartNumber: p.Number, ETag: oss.Ptr(p.ETag)}
	}
	_, err := b.client.CompleteMultipartUpload(ctx, &oss.CompleteMultipartUploadRequest{
		Bucket:                  &b.name,
		Key:                     &key,
		UploadId:                &uploadID,
		CompleteMultipartUpload: &oss.CompleteMultipartUpload{Parts: ups},
	})
	return mapErr(err)
}

func (b *bucket) AbortMultipart(ctx context.Context, key, uploadID string) error {
	_, err := b.client.AbortMultipartUpload(ctx, &oss.AbortMultipartUploadRequest{
		Bucket: &b.name, Key: &key, UploadId: &uploadID,
	})
	if err = mapErr(err); errors.Is(err, objectstore.ErrNoSuchUpload) {
		return nil
	}
	return err
}

func (b *bucket) PresignGet(ctx context.Context, key string, expiry time.Duration) (string, error) {
	res, err := b.client.Presign(ctx, &oss.GetObjectRequest{Bucket: &b.name, Key: &key}, oss.PresignExpires(expiry))
	if err != nil {
		return "", err
	}
	return res.URL, nil
}
