package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/berthreg/berth/storage"
	"github.com/berthreg/berth/storage/objectstore"
)

// bucket is the objectstore.Bucket of one S3 bucket.
type bucket struct {
	client   *s3.Client
	presign  *s3.PresignClient
	name     string
	class    types.StorageClass
	sse      types.ServerSideEncryption
	kmsKeyID *string
}

var (
	_ objectstore.Bucket    = (*bucket)(nil)
	_ objectstore.Presigner = (*bucket)(nil)
)

// mapErr translates S3's answers into the errors objectstore tells apart.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	var ae smithy.APIError
	code := ""
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	status := 0
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	var nk *types.NoSuchKey
	var nf *types.NotFound
	switch {
	case code == "NoSuchUpload":
		return fmt.Errorf("%w: %w", objectstore.ErrNoSuchUpload, err)
	case code == "NoSuchBucket":
		return err
	case code == "NoSuchKey" || code == "NotFound" || errors.As(err, &nk) || errors.As(err, &nf) || status == 404:
		return fmt.Errorf("%w: %w", storage.ErrNotFound, err)
	case code == "InvalidRange" || status == 416:
		return fmt.Errorf("%w: %w", objectstore.ErrInvalidRange, err)
	case status >= 500 || status == 429 || code == "SlowDown":
		return fmt.Errorf("%w: %w", storage.ErrUnavailable, err)
	}
	return err
}

// copySource is the CopySource of the object with key k: "bucket/key",
// URL-encoded element by element.
func (b *bucket) copySource(k string) *string {
	elems := strings.Split(b.name+"/"+k, "/")
	for i, e := range elems {
		elems[i] = url.PathEscape(e)
	}
	return aws.String(strings.Join(elems, "/"))
}

// ifMatch is an optional ETag condition.
func ifMatch(etag string) *string {
	if etag == "" {
		return nil
	}
	return &etag
}

func (b *bucket) Head(ctx context.Context, key string) (objectstore.Object, error) {
	out, err := b.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b.name, Key: &key})
	if err != nil {
		return objectstore.Object{}, mapErr(err)
	}
	return objectstore.Object{
		Key: key, Size: aws.ToInt64(out.ContentLength), ModTime: aws.ToTime(out.LastModified), ETag: aws.ToString(out.ETag),
	}, nil
}

func (b *bucket) Get(ctx context.Context, key string, offset int64) (io.ReadCloser, error) {
	in := &s3.GetObjectInput{Bucket: &b.name, Key: &key}
	if offset > 0 {
		in.Range = aws.String(fmt.Sprintf("bytes=%d-", offset))
	}
	out, err := b.client.GetObject(ctx, in)
	if err != nil {
		return nil, mapErr(err)
	}
	return out.Body, nil
}

func (b *bucket) Put(ctx context.Context, key string, body []byte) error {
	in := &s3.PutObjectInput{
		Bucket:        &b.name,
		Key:           &key,
		Body:          bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))),
	}
	if b.class != "" {
		in.StorageClass = b.class
	}
	if b.sse != "" {
		in.ServerSideEncryption, in.SSEKMSKeyId = b.sse, b.kmsKeyID
	}
	_, err := b.client.PutObject(ctx, in)
	return mapErr(err)
}

func (b *bucket) List(ctx context.Context, req objectstore.ListRequest) (objectstore.Page, error) {
	in := &s3.ListObjectsV2Input{Bucket: &b.name, Prefix: &req.Prefix}
	if req.Delimited {
		in.Delimiter = aws.String("/")
	}
	if req.StartAfter != "" {
		in.StartAfter = &req.StartAfter
	}
	if req.Token != "" {
		in.ContinuationToken = &req.Token
	}
	if req.MaxKeys > 0 {
		in.MaxKeys = aws.Int32(int32(min(req.MaxKeys, 1000)))
	}
	out, err := b.client.ListObjectsV2(ctx, in)
	if err != nil {
		return objectstore.Page{}, mapErr(err)
	}
	var page objectstore.Page
	for _, o := range out.Contents {
		page.Objects = append(page.Objects, objectstore.Object{
			Key: aws.ToString(o.Key), Size: aws.ToInt64(o.Size), ModTime: aws.ToTime(o.LastModified), ETag: aws.ToString(o.ETag),
		})
	}
	for _, cp := range out.CommonPrefixes {
		page.Prefixes = append(page.Prefixes, aws.ToString(cp.Prefix))
	}
	if aws.ToBool(out.IsTruncated) {
		page.Next = aws.ToString(out.NextContinuationToken)
	}
	return page, nil
}

func (b *bucket) Copy(ctx context.Context, src, dst, etag string) error {
	in := &s3.CopyObjectInput{
		Bucket:            &b.name,
		Key:               &dst,
		CopySource:        b.copySource(src),
		CopySourceIfMatch: ifMatch(etag),
	}
	if b.class != "" {
		in.StorageClass = b.class
	}
	if b.sse != "" {
		in.ServerSideEncryption, in.SSEKMSKeyId = b.sse, b.kmsKeyID
	}
	_, err := b.client.CopyObject(ctx, in)
	return mapErr(err)
}

func (b *bucket) Delete(ctx context.Context, keys []string) error {
	if len(keys) == 1 {
		_, err := b.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b.name, Key: &keys[0]})
		if err = mapErr(err); errors.Is(err, storage.ErrNotFound) {
			return nil
		}
		return err
	}
	ids := make([]types.ObjectIdentifier, len(keys))
	for i := range keys {
		ids[i] = types.ObjectIdentifier{Key: &keys[i]}
	}
	res, err := b.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{
		Bucket: &b.name,
		Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)},
	})
	if err != nil {
		return mapErr(err)
	}
	if len(res.Errors) > 0 {
		e := res.Errors[0]
		return fmt.Errorf("%d keys failed, first %s: %s %s", len(res.Errors),
			aws.ToString(e.Key), aws.ToString(e.Code), aws.ToString(e.Message))
	}
	return nil
}

func (b *bucket) CreateMultipart(ctx context.Context, key string) (string, error) {
	in := &s3.CreateMultipartUploadInput{Bucket: &b.name, Key: &key}
	if b.class != "" {
		in.StorageClass = b.class
	}
	if b.sse != "" {
		in.ServerSideEncryption, in.SSEKMSKeyId = b.sse, b.kmsKeyID
	}
	out, err := b.client.CreateMultipartUpload(ctx, in)
	if err != nil {
		return "", mapErr(err)
	}
	return aws.ToString(out.UploadId), nil
}

func (b *bucket) UploadPart(ctx context.Context, key, uploadID string, num int32, body []byte) (string, error) {
	out, err := b.client.UploadPart(ctx, &s3.UploadPartInput{
		Bucket:        &b.name,
		Key:           &key,
		UploadId:      &uploadID,
		PartNumber:    aws.Int32(num),
		Body:          bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))),
	})
	if err != nil {
		return "", mapErr(err)
	}
	return aws.ToString(out.ETag), nil
}

func (b *bucket) CopyPart(ctx context.Context, key, uploadID string, num int32, src string, start, end int64, etag string) (string, error) {
	out, err := b.client.UploadPartCopy(ctx, &s3.UploadPartCopyInput{
		Bucket:            &b.name,
		Key:               &key,
		UploadId:          &uploadID,
		PartNumber:        aws.Int32(num),
		CopySource:        b.copySource(src),
		CopySourceRange:   aws.String(fmt.Sprintf("bytes=%d-%d", start, end-1)),
		CopySourceIfMatch: ifMatch(etag),
	})
	if err != nil {
		return "", mapErr(err)
	}
	return aws.ToString(out.CopyPartResult.ETag), nil
}

func (b *bucket) CompleteMultipart(ctx context.Context, key, uploadID string, parts []objectstore.Part) error {
	cps := make([]types.CompletedPart, len(parts))
	for i, p := range parts {
		cps[i] = types.CompletedPart{ETag: aws.String(p.ETag), PartNumber: aws.Int32(p.Number)}
	}
	_, err := b.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket:          &b.name,
		Key:             &key,
		UploadId:        &uploadID,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: cps},
	})
	return mapErr(err)
}

func (b *bucket) AbortMultipart(ctx context.Context, key, uploadID string) error {
	_, err := b.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
		Bucket: &b.name, Key: &key, UploadId: &uploadID,
	})
	if err = mapErr(err); errors.Is(err, objectstore.ErrNoSuchUpload) {
		return nil
	}
	return err
}

func (b *bucket) PresignGet(ctx context.Context, key string, expiry time.Duration) (string, error) {
	req, err := b.presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: &b.name, Key: &key},
		s3.WithPresignExpires(expiry))
	if err != nil {
		return "", err
	}
	return req.URL, nil
}
