// Package s3 is a storage.Driver for Amazon S3 and S3-compatible servers
// (MinIO, Ceph RGW, …), built on aws-sdk-go-v2.
//
// Paths map to object keys below Config.RootDirectory. Directories are key
// prefixes, as the storage.Driver contract already defines them: a directory
// exists while an object lies below it, and List, Stat and Walk find them
// with ListObjectsV2.
//
// Writers buffer Config.PartSize bytes (8 MiB by default) and upload them as
// parts of a multipart upload; small objects take one PutObject. A writer
// resuming at an offset of 5 MiB or more starts a new multipart upload whose
// first parts are server-side copies of the committed bytes, so resuming
// costs no traffic through the registry; below 5 MiB (S3's minimum part
// size) the committed bytes are read back and uploaded again (see
// Driver.Writer). Either way Commit replaces the object atomically.
//
// Move is CopyObject (a multipart UploadPartCopy above 5 GiB) followed by
// DeleteObject of the source: the destination appears atomically, but S3 has
// no rename, so a crash between the two steps leaves both objects.
//
// Multipart uploads abandoned by a crashed process are invisible but billed;
// configure the bucket's lifecycle rule AbortIncompleteMultipartUpload.
//
// The package is imported only by hosts that want it: a binary that uses
// registry and storage/fs alone does not link the AWS SDK.
package s3
