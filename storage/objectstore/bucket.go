package objectstore

import (
	"context"
	"errors"
	"io"
	"time"
)

// Errors a Bucket returns (wrapped with %w is fine) for the conditions the
// Driver must tell apart. A missing key is storage.ErrNotFound; a server
// that still answers 5xx or 429 after the SDK's retries is
// storage.ErrUnavailable (network failures the Driver recognises itself).
var (
	// ErrInvalidRange is the answer to Get at an offset at or past the end
	// of a non-empty object (HTTP 416).
	ErrInvalidRange = errors.New("objectstore: requested range not satisfiable")
	// ErrNoSuchUpload reports a multipart upload id the bucket no longer
	// knows (completed or aborted).
	ErrNoSuchUpload = errors.New("objectstore: no such multipart upload")
)

// Object describes one stored object.
type Object struct {
	// Key is the object's full key.
	Key string
	// Size is its length in bytes.
	Size int64
	// ModTime is its last modification time.
	ModTime time.Time
	// ETag identifies this version of the object, for conditional copies.
	ETag string
}

// ListRequest asks for one page of keys below Prefix.
type ListRequest struct {
	// Prefix restricts the listing to keys that start with it.
	Prefix string
	// Delimited groups keys by their next "/" below Prefix into
	// Page.Prefixes, as S3's Delimiter "/" does.
	Delimited bool
	// StartAfter lists only keys (and prefixes) sorting after it.
	StartAfter string
	// Token continues a listing from a previous Page.Next.
	Token string
	// MaxKeys caps the page's entries; 0 leaves the bucket's default.
	MaxKeys int
}

// Page is one page of a listing, in the bucket's byte-wise key order.
type Page struct {
	// Objects are the keys of the page.
	Objects []Object
	// Prefixes are the common prefixes (ending in "/") of a delimited
	// listing.
	Prefixes []string
	// Next continues the listing; "" when this was the last page.
	Next string
}

// Part is one uploaded part of a multipart upload.
type Part struct {
	// Number is the part number, from 1.
	Number int32
	// ETag is what the bucket returned for the part.
	ETag string
	// Size is the part's length in bytes.
	Size int64
}

// Bucket is the small set of object-store operations the Driver is built
// on: what S3, Aliyun OSS and their look-alikes offer. An adapter maps it to
// one SDK; keys are full object keys (the Driver applies its root prefix).
// Every method is safe for concurrent use. Adapters retry transient failures
// (5xx, throttling) themselves, typically with the SDK's retryer.
type Bucket interface {
	// Head describes the object at key.
	Head(ctx context.Context, key string) (Object, error)
	// Get streams the object at key from offset (0: the whole object),
	// failing with ErrInvalidRange when offset is not below its size.
	Get(ctx context.Context, key string, offset int64) (io.ReadCloser, error)
	// Put stores body as the object at key, replacing it atomically.
	Put(ctx context.Context, key string, body []byte) error
	// List returns one page of a listing.
	List(ctx context.Context, req ListRequest) (Page, error)
	// Copy copies the object src to dst server-side, failing when src no
	// longer has the ETag ifMatch (when not ""). Sizes above the Options'
	// MaxCopySize are never asked for.
	Copy(ctx context.Context, src, dst, ifMatch string) error
	// Delete removes the objects at keys (at most 1000); missing keys are
	// not an error.
	Delete(ctx context.Context, keys []string) error
	// CreateMultipart starts a multipart upload for key and returns its id.
	CreateMultipart(ctx context.Context, key string) (string, error)
	// UploadPart uploads body as part number num and returns its ETag.
	UploadPart(ctx context.Context, key, uploadID string, num int32, body []byte) (string, error)
	// CopyPart makes bytes [start, end) of the object src (with ETag
	// ifMatch, when not "") part number num, server-side, and returns the
	// part's ETag.
	CopyPart(ctx context.Context, key, uploadID string, num int32, src string, start, end int64, ifMatch string) (string, error)
	// CompleteMultipart assembles parts (ascending numbers) into the
	// object at key, replacing it atomically.
	CompleteMultipart(ctx context.Context, key, uploadID string, parts []Part) error
	// AbortMultipart discards the upload and its parts; an upload that is
	// already gone is not an error.
	AbortMultipart(ctx context.Context, key, uploadID string) error
}

// Presigner is implemented by buckets that can sign a time-limited GET URL
// for an object, so clients download it directly.
type Presigner interface {
	// PresignGet returns a URL that GETs the object at key until expiry
	// has passed.
	PresignGet(ctx context.Context, key string, expiry time.Duration) (string, error)
}
