// Package s3 is a storage.Driver for Amazon S3 and S3-compatible servers
// (MinIO, Ceph RGW, …), built on aws-sdk-go-v2: an objectstore.Bucket
// adapter, so the driver itself is objectstore.Driver (see that package for
// how directories, listing, resumable writers, Move and upload sessions map
// to object-store operations).
//
// Config selects the bucket, region, endpoint (path-style addressing for
// S3-compatible servers), static or default-chain credentials, the root
// directory, storage class, server-side encryption (SSE-S3 or SSE-KMS), the
// part size, and presigned redirects for blob pulls (RedirectExpiry).
//
// Requests that fail with 5xx, throttling (429, SlowDown) or a broken
// connection are retried by the SDK's standard retryer with jittered
// exponential backoff, up to Config.MaxAttempts (6 by default); failures
// that outlast them wrap storage.ErrUnavailable, which the registry answers
// with 503 UNAVAILABLE and a Retry-After.
//
// Multipart uploads abandoned by a crashed process are invisible but billed;
// configure the bucket's lifecycle rule AbortIncompleteMultipartUpload.
//
// The package is imported only by hosts that want it: a binary that uses
// registry and storage/fs alone does not link the AWS SDK.
package s3
