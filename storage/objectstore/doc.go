// Package objectstore builds a complete storage.Driver on any object store
// that offers the S3 family of operations: single-object put, get, head,
// list, copy and delete, and multipart uploads with server-side part copies.
// An adapter implements the small Bucket interface for one SDK; the Driver
// supplies everything the storage contract asks beyond it, once for every
// backend: directories as key prefixes, List's path order and paging, Walk,
// resumable writers, Move as copy and delete (multipart above the copy
// limit), batched directory deletes, presigned redirects, and upload
// sessions.
//
// storage/s3 (aws-sdk-go-v2) and storage/oss (Aliyun OSS SDK v2) are such
// adapters. A plugin author targeting another store with these operations
// writes only a Bucket and runs storagetest.Run on New's result.
//
// # Upload sessions
//
// Object stores cannot append. The Driver implements storage.Sessioner so
// that a chunked blob upload never sends a byte to the bucket twice nor reads
// one back: bytes fill parts of Options.PartSize as they arrive; when a
// chunk ends, what is buffered becomes one more part if it reaches the
// bucket's minimum part size, else it stays in the session state the caller
// persists (the registry keeps it in the upload's metadata record). The
// state also holds the multipart upload id and the parts (number, ETag,
// size), so any instance sharing the bucket and the metadata continues the
// session. CompleteSession completes the multipart upload (or puts a session
// that never reached a part); the registry then moves the object to its
// content address with a server-side copy.
//
// Multipart uploads of sessions that are never completed or aborted (a
// client that gives up) stay invisible but take space until the upload
// session is cleaned up; configure the bucket's lifecycle rule for
// incomplete multipart uploads as a safety net.
package objectstore
