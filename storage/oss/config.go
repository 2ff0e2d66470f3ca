package oss

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss"
	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss/credentials"
	"github.com/aliyun/alibabacloud-oss-go-sdk-v2/oss/retry"

	"github.com/berthreg/berth/storage/objectstore"
)

const (
	// DefaultChunkSize is the multipart upload part size used when
	// Config.ChunkSize is 0.
	DefaultChunkSize = 8 << 20
	// MinChunkSize is the smallest part OSS accepts for any part but the
	// last of a multipart upload (100 KiB), and the smallest
	// Config.ChunkSize.
	MinChunkSize = 100 << 10
	// MaxChunkSize is the largest part (and the largest server-side part
	// copy range) OSS accepts: 5 GiB.
	MaxChunkSize = 5 << 30
	// MaxCopySize is the largest object one CopyObject copies on OSS
	// (1 GiB); Move copies larger objects with UploadPartCopy.
	MaxCopySize = 1 << 30
	// MaxRedirectExpiry is the longest validity of a presigned URL with
	// OSS signature version 4: seven days.
	MaxRedirectExpiry = 7 * 24 * time.Hour
	// DefaultMaxConcurrency is Config.MaxConcurrency when 0, as in
	// storage/s3: one part uploading while the next fills.
	DefaultMaxConcurrency = 2
	// DefaultMaxAttempts is Config.MaxAttempts when 0, as in storage/s3:
	// enough to ride out a restart of the server lasting about a second.
	// default, 3.
	DefaultMaxAttempts = 6
	// maxParts is OSS's limit on the parts of one multipart upload.
	maxParts = 10000
	// readWriteTimeout is how long a connection may stay silent. The
	// SDK's 10 s default is shorter than OSS can take to answer the
	// server-side copy of a large part or object, which it answers only
	// once done.
	readWriteTimeout = 5 * time.Minute
)

// Config configures a Driver. Its fields are the keys of Harbor's
// storage_service.oss section (harbor.yml), plus EncryptionKMSKeyID,
// RedirectExpiry and MaxAttempts. AccessKeyID, AccessKeySecret, Region and
// Bucket are required. The yaml tags are those keys as harbor.yml spells
// them (kmskeyid for EncryptionKMSKeyID), as a server configuration's
// storage.oss section reads them (see package server).
type Config struct {
	// AccessKeyID and AccessKeySecret are the static credentials of an
	// Alibaba Cloud account or RAM user.
	AccessKeyID     string `yaml:"accesskeyid"`
	AccessKeySecret string `yaml:"accesskeysecret"`
	// Region is the bucket's region, "cn-hangzhou"; the "oss-cn-hangzhou"
	// spelling of Harbor and Docker Distribution configurations is
	// accepted too. It selects the endpoint when Endpoint is empty and is
	// always part of the request signature (OSS signature version 4).
	Region string `yaml:"region"`
	// Endpoint is the OSS endpoint. Empty derives it from Region and
	// Internal: oss-<region>.aliyuncs.com, or
	// oss-<region>-internal.aliyuncs.com. A host name
	// ("oss-cn-hangzhou.aliyuncs.com", a custom domain) is reached over
	// https, or http when Secure is false. A full http:// or https:// URL
	// is used as it is, which is how tests reach an OSS-compatible
	// server. Buckets are addressed virtual-hosted style
	// (https://<bucket>.<endpoint>/<key>), or path style when the
	// endpoint's host is an IP address.
	Endpoint string `yaml:"endpoint"`
	// Internal selects the region's internal endpoint (free traffic from
	// Alibaba Cloud hosts in the same region) when Endpoint is empty; it
	// is ignored when Endpoint is set.
	Internal bool `yaml:"internal"`
	// Bucket is the bucket that holds every object.
	Bucket string `yaml:"bucket"`
	// Encrypt makes OSS encrypt new objects server-side: with AES256
	// (SSE-OSS), or with KMS when EncryptionKMSKeyID is set.
	Encrypt bool `yaml:"encrypt"`
	// EncryptionKMSKeyID, with Encrypt, encrypts new objects with this KMS
	// customer master key (SSE-KMS) instead of AES256.
	EncryptionKMSKeyID string `yaml:"kmskeyid"`
	// Secure selects https (the default, when nil or true) or http for an
	// endpoint given without a scheme or derived from Region. With an
	// Endpoint URL its scheme decides, and a Secure that contradicts it is
	// an error.
	Secure *bool `yaml:"secure"`
	// ChunkSize is the size of each multipart upload part, and so the
	// memory a writer buffers. 0 means DefaultChunkSize; otherwise it must
	// lie between MinChunkSize and MaxChunkSize. An object has at most
	// 10000 parts, so the largest object a Writer can produce is
	// 10000 × ChunkSize (about 78 GiB with the default).
	ChunkSize int64 `yaml:"chunksize"`
	// RootDirectory is a key prefix under which every object is stored
	// ("registry" stores "blobs/…" as "registry/blobs/…"). Empty means the
	// bucket's root. Leading and trailing slashes are ignored.
	RootDirectory string `yaml:"rootdirectory"`
	// RedirectExpiry, when positive, makes blob pulls redirect clients to
	// presigned GET URLs valid that long (at most MaxRedirectExpiry), so
	// blob bytes flow from the bucket rather than through the registry.
	// 0 streams every pull.
	RedirectExpiry time.Duration `yaml:"redirectExpiry"`
	// MaxAttempts bounds the attempts of each request, the first included,
	// for failures worth retrying (see the package documentation), with
	// jittered exponential backoff between them. 0 means
	// DefaultMaxAttempts.
	MaxAttempts int `yaml:"maxattempts"`
	// MaxConcurrency is how many parts one writer uploads at once while it
	// goes on receiving bytes; each holds a ChunkSize buffer. 0 means
	// DefaultMaxConcurrency; 1 uploads parts one at a time, in line.
	MaxConcurrency int `yaml:"maxconcurrency"`
}

// validate checks c and returns it with defaults applied and Region
// normalised. Errors name the offending field.
func (c Config) validate() (Config, error) {
	if c.AccessKeyID == "" {
		return c, errors.New("oss: AccessKeyID: required")
	}
	if c.AccessKeySecret == "" {
		return c, errors.New("oss: AccessKeySecret: required")
	}
	if c.Region == "" {
		return c, errors.New("oss: Region: required")
	}
	region, err := normalizeRegion(c.Region)
	if err != nil {
		return c, fmt.Errorf("oss: Region: %w", err)
	}
	c.Region = region
	if c.Bucket == "" {
		return c, errors.New("oss: Bucket: required")
	}
	if !oss.IsValidBucketName(&c.Bucket) {
		return c, fmt.Errorf("oss: Bucket: %q is not a valid bucket name (3 to 63 lowercase letters, digits and hyphens)", c.Bucket)
	}
	if _, err := c.endpoint(); err != nil {
		return c, err
	}
	if c.EncryptionKMSKeyID != "" && !c.Encrypt {
		return c, errors.New("oss: EncryptionKMSKeyID: set only with Encrypt")
	}
	if err := objectstore.CheckRoot(c.RootDirectory); err != nil {
		return c, fmt.Errorf("oss: RootDirectory: %w", err)
	}
	switch {
	case c.ChunkSize == 0:
		c.ChunkSize = DefaultChunkSize
	case c.ChunkSize < MinChunkSize:
		return c, fmt.Errorf("oss: ChunkSize: %d is below the OSS minimum part size of %d bytes (100 KiB)", c.ChunkSize, MinChunkSize)
	case c.ChunkSize > MaxChunkSize:
		return c, fmt.Errorf("oss: ChunkSize: %d is above the OSS maximum part size of %d bytes (5 GiB)", c.ChunkSize, MaxChunkSize)
	}
	switch {
	case c.MaxAttempts == 0:
		c.MaxAttempts = DefaultMaxAttempts
	case c.MaxAttempts < 0:
		return c, fmt.Errorf("oss: MaxAttempts: %d is negative", c.MaxAttempts)
	}
	switch {
	case c.MaxConcurrency == 0:
		c.MaxConcurrency = DefaultMaxConcurrency
	case c.MaxConcurrency < 0:
		return c, fmt.Errorf("oss: MaxConcurrency: %d is negative", c.MaxConcurrency)
	}
	switch {
	case c.RedirectExpiry < 0:
		return c, fmt.Errorf("oss: RedirectExpiry: %v is negative", c.RedirectExpiry)
	case c.RedirectExpiry > MaxRedirectExpiry:
		return c, fmt.Errorf("oss: RedirectExpiry: %v is above the OSS maximum of %v", c.RedirectExpiry, MaxRedirectExpiry)
	}
	return c, nil
}

// normalizeRegion returns region without the "oss-" prefix of older
// configurations, checking that it looks like a region id.
func normalizeRegion(region string) (string, error) {
	r := strings.TrimPrefix(region, "oss-")
	if r == "" {
		return "", fmt.Errorf("%q names no region", region)
	}
	for _, ch := range r {
		if (ch < 'a' || ch > 'z') && (ch < '0' || ch > '9') && ch != '-' {
			return "", fmt.Errorf("%q is not a region id such as cn-hangzhou", region)
		}
	}
	return r, nil
}

// endpoint returns the base URL requests go to, from Endpoint, Region,
// Internal and Secure. Region must be normalised already.
func (c Config) endpoint() (string, error) {
	scheme := "https"
	if c.Secure != nil && !*c.Secure {
		scheme = "http"
	}
	if c.Endpoint == "" {
		host := "oss-" + c.Region + ".aliyuncs.com"
		if c.Internal {
			host = "oss-" + c.Region + "-internal.aliyuncs.com"
		}
		return scheme + "://" + host, nil
	}
	if !strings.Contains(c.Endpoint, "://") {
		if strings.ContainsAny(c.Endpoint, "/?#@ ") {
			return "", fmt.Errorf("oss: Endpoint: %q is neither a host name nor an http:// or https:// URL", c.Endpoint)
		}
		return scheme + "://" + c.Endpoint, nil
	}
	u, err := url.Parse(c.Endpoint)
	switch {
	case err != nil:
		return "", fmt.Errorf("oss: Endpoint: %w", err)
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("oss: Endpoint: %q is not an http:// or https:// URL", c.Endpoint)
	case u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return "", fmt.Errorf("oss: Endpoint: %q must be a scheme and a host only", c.Endpoint)
	case c.Secure != nil && *c.Secure != (u.Scheme == "https"):
		return "", fmt.Errorf("oss: Secure: %v contradicts the Endpoint %q", *c.Secure, c.Endpoint)
	}
	return u.Scheme + "://" + u.Host, nil
}

// clientHook, when set (by this package's tests), adjusts the options of
// every client newDriver creates, after the configuration's own.
var clientHook func(*oss.Options)

// New validates cfg and returns a driver for its bucket. It makes no
// request: a wrong bucket, endpoint or credentials show up on the first
// call.
func New(ctx context.Context, cfg Config) (*objectstore.Driver, error) {
	b, o, err := newBucket(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return objectstore.New(b, o)
}

// newBucket validates cfg and returns the bucket and the driver options
// New builds its driver from (tests wrap and adjust them).
func newBucket(_ context.Context, cfg Config) (*bucket, objectstore.Options, error) {
	var o objectstore.Options
	cfg, err := cfg.validate()
	if err != nil {
		return nil, o, err
	}
	endpoint, err := cfg.endpoint()
	if err != nil {
		return nil, o, err
	}
	ossCfg := oss.NewConfig().
		WithRegion(cfg.Region).
		WithEndpoint(endpoint).
		WithCredentialsProvider(credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.AccessKeySecret)).
		WithSignatureVersion(oss.SignatureVersionV4).
		WithRetryer(retry.NewStandard(func(o *retry.RetryOptions) { o.MaxAttempts = cfg.MaxAttempts })).
		WithReadWriteTimeout(readWriteTimeout)
	hooks := []func(*oss.Options){emptyBodies}
	if clientHook != nil {
		hooks = append(hooks, clientHook)
	}
	client := oss.NewClient(ossCfg, hooks...)
	b := &bucket{client: client, name: cfg.Bucket}
	if cfg.Encrypt {
		b.sse = "AES256"
		if cfg.EncryptionKMSKeyID != "" {
			b.sse, b.kmsKeyID = "KMS", &cfg.EncryptionKMSKeyID
		}
	}
	o = objectstore.Options{
		Name:           "oss",
		RootDirectory:  cfg.RootDirectory,
		PartSize:       cfg.ChunkSize,
		Concurrency:    cfg.MaxConcurrency,
		MinPartSize:    MinChunkSize,
		MaxPartSize:    MaxChunkSize,
		MaxParts:       maxParts,
		MaxCopySize:    MaxCopySize,
		RedirectExpiry: cfg.RedirectExpiry,
	}
	return b, o, nil
}
