package s3

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/berthreg/berth/storage/objectstore"
)

const (
	// DefaultPartSize is the multipart upload part size used when
	// Config.PartSize is 0.
	DefaultPartSize = 8 << 20
	// MinPartSize is the smallest part S3 accepts for any part but the last
	// of a multipart upload, and the smallest Config.PartSize.
	MinPartSize = 5 << 20
	// MaxPartSize is the largest part (and the largest server-side copy
	// range) S3 accepts.
	MaxPartSize = 5 << 30
	// DefaultMaxConcurrency is Config.MaxConcurrency when 0: one part
	// uploading while the next fills.
	DefaultMaxConcurrency = 2
	// DefaultMaxAttempts is Config.MaxAttempts when 0: enough to ride out
	// a restart of an S3-compatible server lasting about a second.
	DefaultMaxAttempts = 6
	// maxParts is S3's limit on the parts of one multipart upload.
	maxParts = 10000
)

// Config configures a Driver. Only Bucket is required (and Region when the
// SDK's default chain does not supply one). The yaml tags are the keys of
// a server configuration's storage.s3 section (see package server).
type Config struct {
	// Bucket is the bucket that holds every object.
	Bucket string `yaml:"bucket"`
	// Region is the bucket's region. When empty, the SDK's default chain
	// (AWS_REGION, shared config files) supplies it.
	Region string `yaml:"region"`
	// Endpoint is the base URL of an S3-compatible server such as MinIO
	// ("http://127.0.0.1:9000"). When set, requests use path-style
	// addressing. Empty means AWS S3.
	Endpoint string `yaml:"endpoint"`
	// AccessKey and SecretKey are static credentials. When both are empty
	// the SDK's default credential chain (environment, shared files, IAM
	// roles) is used.
	AccessKey string `yaml:"accessKey"`
	SecretKey string `yaml:"secretKey"`
	// RootDirectory is a key prefix under which every object is stored
	// ("registry" stores "blobs/…" as "registry/blobs/…"). Empty means the
	// bucket's root. Leading and trailing slashes are ignored.
	RootDirectory string `yaml:"rootDirectory"`
	// PartSize is the size of each multipart upload part, and so the amount
	// of memory a writer buffers. 0 means DefaultPartSize; otherwise it
	// must lie between MinPartSize and MaxPartSize. An object can have at
	// most 10000 parts, so the largest object a Writer can produce is
	// 10000 × PartSize (about 78 GiB with the default).
	PartSize int64 `yaml:"partSize"`
	// StorageClass is the S3 storage class of new objects ("STANDARD",
	// "INTELLIGENT_TIERING", …); empty leaves the bucket's default.
	StorageClass string `yaml:"storageClass"`
	// ServerSideEncryption is "", "AES256" (SSE-S3) or "aws:kms" (SSE-KMS,
	// with KMSKeyID naming the key, or the account's default key when
	// KMSKeyID is empty).
	ServerSideEncryption string `yaml:"serverSideEncryption"`
	// KMSKeyID is the KMS key for ServerSideEncryption "aws:kms".
	KMSKeyID string `yaml:"kmsKeyID"`
	// MaxConcurrency is how many parts one writer uploads at once while it
	// goes on receiving bytes; each holds a PartSize buffer. 0 means
	// DefaultMaxConcurrency; 1 uploads parts one at a time, in line.
	MaxConcurrency int `yaml:"maxConcurrency"`
	// MaxAttempts bounds the attempts of each request, the first included,
	// for answers worth retrying (5xx, throttling, broken connections),
	// with jittered exponential backoff between them. 0 means
	// DefaultMaxAttempts.
	MaxAttempts int `yaml:"maxAttempts"`
	// RedirectExpiry, when positive, makes blob pulls redirect clients to
	// presigned GET URLs valid that long, so blob bytes flow from the
	// bucket rather than through the registry. 0 streams every pull.
	RedirectExpiry time.Duration `yaml:"redirectExpiry"`
}

// validate checks c and returns it with defaults applied and RootDirectory
// normalised. Errors name the offending field.
func (c Config) validate() (Config, error) {
	if c.Bucket == "" {
		return c, errors.New("s3: Bucket: required")
	}
	if c.Endpoint != "" && !strings.HasPrefix(c.Endpoint, "http://") && !strings.HasPrefix(c.Endpoint, "https://") {
		return c, fmt.Errorf("s3: Endpoint: %q is not an http:// or https:// URL", c.Endpoint)
	}
	if (c.AccessKey == "") != (c.SecretKey == "") {
		return c, errors.New("s3: AccessKey, SecretKey: set both or neither")
	}
	if err := objectstore.CheckRoot(c.RootDirectory); err != nil {
		return c, fmt.Errorf("s3: RootDirectory: %w", err)
	}
	switch {
	case c.PartSize == 0:
		c.PartSize = DefaultPartSize
	case c.PartSize < MinPartSize:
		return c, fmt.Errorf("s3: PartSize: %d is below the S3 minimum of %d bytes (5 MiB)", c.PartSize, MinPartSize)
	case c.PartSize > MaxPartSize:
		return c, fmt.Errorf("s3: PartSize: %d is above the S3 maximum of %d bytes (5 GiB)", c.PartSize, MaxPartSize)
	}
	switch c.ServerSideEncryption {
	case "", string(types.ServerSideEncryptionAes256):
		if c.KMSKeyID != "" {
			return c, errors.New(`s3: KMSKeyID: set only with ServerSideEncryption "aws:kms"`)
		}
	case string(types.ServerSideEncryptionAwsKms):
	default:
		return c, fmt.Errorf(`s3: ServerSideEncryption: %q is not "", "AES256" or "aws:kms"`, c.ServerSideEncryption)
	}
	if strings.TrimSpace(c.StorageClass) != c.StorageClass {
		return c, fmt.Errorf("s3: StorageClass: %q has surrounding spaces", c.StorageClass)
	}
	switch {
	case c.MaxConcurrency == 0:
		c.MaxConcurrency = DefaultMaxConcurrency
	case c.MaxConcurrency < 0:
		return c, fmt.Errorf("s3: MaxConcurrency: %d is negative", c.MaxConcurrency)
	}
	switch {
	case c.MaxAttempts == 0:
		c.MaxAttempts = DefaultMaxAttempts
	case c.MaxAttempts < 0:
		return c, fmt.Errorf("s3: MaxAttempts: %d is negative", c.MaxAttempts)
	}
	if c.RedirectExpiry < 0 {
		return c, fmt.Errorf("s3: RedirectExpiry: %v is negative", c.RedirectExpiry)
	}
	return c, nil
}

// New validates cfg and returns a driver for its bucket. It makes no
// request: a wrong bucket or credentials show up on the first call.
func New(ctx context.Context, cfg Config) (*objectstore.Driver, error) {
	b, o, err := newBucket(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return objectstore.New(b, o)
}

// newBucket validates cfg and returns the bucket and the driver options
// New builds its driver from (tests wrap and adjust them).
func newBucket(ctx context.Context, cfg Config) (*bucket, objectstore.Options, error) {
	var o objectstore.Options
	cfg, err := cfg.validate()
	if err != nil {
		return nil, o, err
	}
	var opts []func(*config.LoadOptions) error
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	if cfg.AccessKey != "" {
		opts = append(opts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(cfg.AccessKey, cfg.SecretKey, "")))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, o, fmt.Errorf("s3: loading AWS configuration: %w", err)
	}
	if awsCfg.Region == "" {
		return nil, o, errors.New("s3: Region: required (none set and none in the AWS environment)")
	}
	client := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) { so.MaxAttempts = cfg.MaxAttempts })
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
			o.UsePathStyle = true
			// S3-compatible servers can answer a write racing the
			// removal of the last object under its prefix with a
			// transient AccessDenied (MinIO on one drive does, see
			// minio/minio#15157 for the family of races); retry it
			// within the SDK's usual attempts and backoff. Against AWS
			// (no Endpoint) AccessDenied stays final.
			o.Retryer = retry.AddWithErrorCodes(o.Retryer, "AccessDenied")
		}
		// No "Expect: 100-continue" before part and object bodies: they
		// are in-memory buffers, the handshake costs a round trip per
		// part, and a server slow to send the interim response (MinIO
		// under fsync load, beyond the client's 1 s wait) then gets the
		// body anyway and resets the connection, an error the retries
		// cannot see past.
		o.ContinueHeaderThresholdBytes = -1
		// Checksums only where S3 requires them (DeleteObjects): every
		// body is a seekable in-memory buffer already covered by SigV4 or
		// TLS, and a CRC over every part costs CPU for nothing.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	b := &bucket{
		client:  client,
		presign: s3.NewPresignClient(client),
		name:    cfg.Bucket,
		class:   types.StorageClass(cfg.StorageClass),
		sse:     types.ServerSideEncryption(cfg.ServerSideEncryption),
	}
	if cfg.KMSKeyID != "" {
		b.kmsKeyID = aws.String(cfg.KMSKeyID)
	}
	o = objectstore.Options{
		Name:           "s3",
		RootDirectory:  cfg.RootDirectory,
		PartSize:       cfg.PartSize,
		Concurrency:    cfg.MaxConcurrency,
		MinPartSize:    MinPartSize,
		MaxPartSize:    MaxPartSize,
		MaxParts:       maxParts,
		MaxCopySize:    MaxPartSize,
		RedirectExpiry: cfg.RedirectExpiry,
	}
	return b, o, nil
}
