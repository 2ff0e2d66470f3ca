// Package oss is a storage.Driver for Alibaba Cloud Object Storage Service
// (Aliyun OSS), built on the official SDK
// github.com/aliyun/alibabacloud-oss-go-sdk-v2: an objectstore.Bucket
// adapter, so the driver itself is objectstore.Driver (see that package for
// how directories, listing, resumable writers, Move and upload sessions map
// to object-store operations).
//
// Config takes the keys of Harbor's storage_service.oss section: access key
// id and secret, region ("cn-hangzhou", or "oss-cn-hangzhou" as Harbor and
// Docker Distribution spell it), endpoint (derived from the region, its
// internal variant with Internal, http instead of https with Secure false,
// or given as a host or a full URL), bucket, server-side encryption
// (Encrypt: AES256, or KMS with EncryptionKMSKeyID), the multipart chunk
// size and the root directory; plus RedirectExpiry for presigned redirects
// of blob pulls. Requests are signed with OSS signature version 4.
//
// The driver uses OSS's own limits: parts from 100 KiB (and so upload
// session chunks from 100 KiB) to 5 GiB, 10000 parts, and a 1 GiB
// CopyObject, above which Move copies with UploadPartCopy. Reads at an
// offset ask for OSS's standard range behaviour, so an offset past the end
// is refused (416) rather than answered with the whole object.
//
// Requests that fail with a 5xx status, 401, 408 or 429, the codes
// RequestTimeTooSkewed or BadRequest, a broken or refused connection, or a
// CRC-64 mismatch are retried by the SDK's standard retryer: up to
// Config.MaxAttempts attempts in all (3 by default, the SDK's own), with
// full-jitter exponential backoff: before attempt n, a random delay below
// 200 ms × 2^n, at most 20 s. A 5xx or 429 that outlasts them wraps
// storage.ErrUnavailable, which the registry answers with 503 UNAVAILABLE
// and a Retry-After.
// The SDK checks the CRC-64 of every PutObject and UploadPart body against
// the x-oss-hash-crc64ecma header OSS answers with. A connection may stay
// silent for five minutes (the SDK's default is 10 s), since OSS answers a
// server-side copy only once it is done.
//
// Multipart uploads abandoned by a crashed process are invisible but
// billed; configure a lifecycle rule on the bucket that deletes incomplete
// multipart uploads.
//
// The package is imported only by hosts that want it: a binary that uses
// registry and storage/fs alone does not link the OSS SDK.
package oss
