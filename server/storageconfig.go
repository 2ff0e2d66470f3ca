package server

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/berthreg/berth/storage/oss"
	"github.com/berthreg/berth/storage/s3"
)

// StorageConfig selects the storage driver.
type StorageConfig struct {
	// Driver is "fs" (default), "s3", "oss" or "memory" (BERTH_STORAGE_DRIVER).
	Driver string `yaml:"driver"`
	// FS configures the fs driver.
	FS FSConfig `yaml:"fs"`
	// S3 configures the s3 driver (BERTH_S3_BUCKET, BERTH_S3_REGION,
	// BERTH_S3_ENDPOINT, BERTH_S3_ACCESS_KEY, BERTH_S3_SECRET_KEY,
	// BERTH_S3_ROOT, BERTH_S3_PART_SIZE, BERTH_S3_STORAGE_CLASS,
	// BERTH_S3_SSE, BERTH_S3_KMS_KEY_ID, BERTH_S3_REDIRECT_EXPIRY,
	// BERTH_S3_MAX_CONCURRENCY, BERTH_S3_MAX_ATTEMPTS).
	S3 s3.Config `yaml:"s3"`
	// OSS configures the oss driver, with the keys of Harbor's
	// storage_service.oss section (BERTH_OSS_ACCESS_KEY_ID,
	// BERTH_OSS_ACCESS_KEY_SECRET, BERTH_OSS_REGION, BERTH_OSS_ENDPOINT,
	// BERTH_OSS_INTERNAL, BERTH_OSS_BUCKET, BERTH_OSS_ENCRYPT,
	// BERTH_OSS_KMS_KEY_ID, BERTH_OSS_SECURE, BERTH_OSS_CHUNK_SIZE,
	// BERTH_OSS_ROOT, BERTH_OSS_REDIRECT_EXPIRY, BERTH_OSS_MAX_CONCURRENCY,
	// BERTH_OSS_MAX_ATTEMPTS).
	OSS oss.Config `yaml:"oss"`
}

// FSConfig configures the local-disk driver.
type FSConfig struct {
	// RootDirectory defaults to <dataDir>/storage (BERTH_STORAGE_FS_ROOT).
	RootDirectory string `yaml:"rootDirectory"`
	// NoSync turns fsync off: faster, loses data on power failure. Never in
	// production (BERTH_STORAGE_FS_NOSYNC).
	NoSync bool `yaml:"noSync"`
}

// validate checks the storage settings that can be judged before any
// network call; the driver's own checks follow in New.
func (c StorageConfig) validate() error {
	switch c.Driver {
	case "fs", "memory":
		return nil
	case "s3":
		return validateS3(c.S3)
	case "oss":
		return validateOSS(c.OSS)
	}
	return fmt.Errorf("config: storage.driver %q must be fs, s3, oss or memory", c.Driver)
}

// validateS3 checks the s3 settings.
func validateS3(c s3.Config) error {
	switch {
	case c.Bucket == "":
		return errors.New("config: storage.s3.bucket must be set when storage.driver is s3")
	case (c.AccessKey == "") != (c.SecretKey == ""):
		return errors.New("config: storage.s3.accessKey and storage.s3.secretKey must be set together")
	case c.Endpoint != "" && !strings.HasPrefix(c.Endpoint, "http://") && !strings.HasPrefix(c.Endpoint, "https://"):
		return fmt.Errorf("config: storage.s3.endpoint %q must be an http:// or https:// URL", c.Endpoint)
	case c.PartSize != 0 && (c.PartSize < 5<<20 || c.PartSize > 5<<30):
		return fmt.Errorf("config: storage.s3.partSize %d must be 0 or between 5 MiB and 5 GiB", c.PartSize)
	case c.RedirectExpiry < 0:
		return fmt.Errorf("config: storage.s3.redirectExpiry %s must not be negative", c.RedirectExpiry)
	case c.MaxConcurrency < 0:
		return fmt.Errorf("config: storage.s3.maxConcurrency %d must not be negative", c.MaxConcurrency)
	case c.MaxAttempts < 0:
		return fmt.Errorf("config: storage.s3.maxAttempts %d must not be negative", c.MaxAttempts)
	}
	switch c.ServerSideEncryption {
	case "", "AES256", "aws:kms":
	default:
		return fmt.Errorf("config: storage.s3.serverSideEncryption %q must be empty, AES256 or aws:kms", c.ServerSideEncryption)
	}
	return nil
}

// validateOSS checks the oss settings.
func validateOSS(c oss.Config) error {
	switch {
	case c.Bucket == "":
		return errors.New("config: storage.oss.bucket must be set when storage.driver is oss")
	case c.Region == "":
		return errors.New("config: storage.oss.region must be set when storage.driver is oss")
	case c.AccessKeyID == "":
		return errors.New("config: storage.oss.accesskeyid must be set when storage.driver is oss")
	case c.AccessKeySecret == "":
		return errors.New("config: storage.oss.accesskeysecret must be set when storage.driver is oss")
	case strings.Contains(c.Endpoint, "://") && !strings.HasPrefix(c.Endpoint, "http://") && !strings.HasPrefix(c.Endpoint, "https://"):
		return fmt.Errorf("config: storage.oss.endpoint %q must be a host name or an http:// or https:// URL", c.Endpoint)
	case c.EncryptionKMSKeyID != "" && !c.Encrypt:
		return errors.New("config: storage.oss.kmskeyid is set but storage.oss.encrypt is not")
	case c.ChunkSize != 0 && (c.ChunkSize < 100<<10 || c.ChunkSize > 5<<30):
		return fmt.Errorf("config: storage.oss.chunksize %d must be 0 or between 100 KiB and 5 GiB", c.ChunkSize)
	case c.RedirectExpiry < 0 || c.RedirectExpiry > 7*24*time.Hour:
		return fmt.Errorf("config: storage.oss.redirectExpiry %s must be between 0 and 7 days", c.RedirectExpiry)
	case c.MaxConcurrency < 0:
		return fmt.Errorf("config: storage.oss.maxconcurrency %d must not be negative", c.MaxConcurrency)
	case c.MaxAttempts < 0:
		return fmt.Errorf("config: storage.oss.maxattempts %d must not be negative", c.MaxAttempts)
	}
	return nil
}
