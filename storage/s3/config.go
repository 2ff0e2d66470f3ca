package s3

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
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
	// maxParts is S3's limit on the parts of one multipart upload.
	maxParts = 10000
)

// Config configures a Driver. Only Bucket is required (and Region when the
// SDK's default chain does not supply one).
type Config struct {
	// Bucket is the bucket that holds every object.
	Bucket string
	// Region is the bucket's region. When empty, the SDK's default chain
	// (AWS_REGION, shared config files) supplies it.
	Region string
	// Endpoint is the base URL of an S3-compatible server such as MinIO
	// ("http://127.0.0.1:9000"). When set, requests use path-style
	// addressing. Empty means AWS S3.
	Endpoint string
	// AccessKey and SecretKey are static credentials. When both are empty
	// the SDK's default credential chain (environment, shared files, IAM
	// roles) is used.
	AccessKey string
	SecretKey string
	// RootDirectory is a key prefix under which every object is stored
	// ("registry" stores "blobs/…" as "registry/blobs/…"). Empty means the
	// bucket's root. Leading and trailing slashes are ignored.
	RootDirectory string
	// PartSize is the size of each multipart upload part, and so the amount
	// of memory a writer buffers. 0 means DefaultPartSize; otherwise it
	// must lie between MinPartSize and MaxPartSize. An object can have at
	// most 10000 parts, so the largest object a Writer can produce is
	// 10000 × PartSize (about 78 GiB with the default).
	PartSize int64
	// StorageClass is the S3 storage class of new objects ("STANDARD",
	// "INTELLIGENT_TIERING", …); empty leaves the bucket's default.
	StorageClass string
	// ServerSideEncryption is "", "AES256" (SSE-S3) or "aws:kms" (SSE-KMS,
	// with KMSKeyID naming the key, or the account's default key when
	// KMSKeyID is empty).
	ServerSideEncryption string
	// KMSKeyID is the KMS key for ServerSideEncryption "aws:kms".
	KMSKeyID string
	// MaxConcurrency is reserved for concurrent part uploads; it must be
	// >= 0 and is currently unused (parts upload one at a time).
	MaxConcurrency int
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
	root := strings.Trim(c.RootDirectory, "/")
	if root != "" && checkPath(root) != nil {
		return c, fmt.Errorf("s3: RootDirectory: %q is not a clean relative path", c.RootDirectory)
	}
	c.RootDirectory = root
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
	if c.MaxConcurrency < 0 {
		return c, fmt.Errorf("s3: MaxConcurrency: %d is negative", c.MaxConcurrency)
	}
	return c, nil
}

// New validates cfg and returns a Driver for its bucket. It makes no request:
// a wrong bucket or credentials show up on the first call.
func New(ctx context.Context, cfg Config) (*Driver, error) {
	cfg, err := cfg.validate()
	if err != nil {
		return nil, err
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
		return nil, fmt.Errorf("s3: loading AWS configuration: %w", err)
	}
	if awsCfg.Region == "" {
		return nil, errors.New("s3: Region: required (none set and none in the AWS environment)")
	}
	client := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
			o.UsePathStyle = true
			// S3-compatible servers can answer a write racing the
			// removal of the last object under its prefix with a
			// transient AccessDenied (MinIO on one drive does, see
			// minio/minio#15157 for the family of races); retry it
			// within the SDK's usual attempts and backoff. Against AWS
			// (no Endpoint) AccessDenied stays final.
			if o.Retryer == nil {
				o.Retryer = retry.NewStandard()
			}
			o.Retryer = retry.AddWithErrorCodes(o.Retryer, "AccessDenied")
		}
		// Checksums only where S3 requires them (DeleteObjects): every
		// body is a seekable in-memory buffer already covered by SigV4 or
		// TLS, and a CRC over every part costs CPU for nothing.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	root := cfg.RootDirectory
	if root != "" {
		root += "/"
	}
	return &Driver{
		client:      client,
		bucket:      cfg.Bucket,
		root:        root,
		partSize:    cfg.PartSize,
		class:       types.StorageClass(cfg.StorageClass),
		sse:         types.ServerSideEncryption(cfg.ServerSideEncryption),
		kmsKeyID:    cfg.KMSKeyID,
		maxCopyPart: MaxPartSize,
	}, nil
}

// checkPath rejects paths that are empty, absolute, not clean, or that
// contain "." or ".." elements (the rules of storage/fs and storage/memory).
func checkPath(p string) error {
	if p == "" || p[0] == '/' || path.Clean(p) != p || p == "." || p == ".." ||
		strings.HasPrefix(p, "../") || strings.IndexByte(p, 0) >= 0 {
		return fmt.Errorf("s3: %q: %w", p, errInvalidPath)
	}
	return nil
}

// checkPrefix is checkPath for List and Walk, where "" names the root.
func checkPrefix(p string) error {
	if p == "" {
		return nil
	}
	return checkPath(p)
}
