package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the example server's configuration: one YAML file, every key
// optional, each overridable by an environment variable (shown in the tag).
type Config struct {
	// Addr is the listen address (BERTH_ADDR).
	Addr string `yaml:"addr"`
	// DataDir holds the fs storage and the bbolt metadata file (BERTH_DATA_DIR).
	DataDir string `yaml:"dataDir"`
	// LogLevel is debug, info, warn or error (BERTH_LOG_LEVEL).
	LogLevel string `yaml:"logLevel"`
	// Storage selects and configures the blob storage driver.
	Storage StorageConfig `yaml:"storage"`
	// Registry tunes the distribution API.
	Registry RegistryConfig `yaml:"registry"`
	// ShutdownTimeout bounds graceful shutdown (BERTH_SHUTDOWN_TIMEOUT).
	ShutdownTimeout time.Duration `yaml:"shutdownTimeout"`
	// DebugAddr, when set, serves Go's pprof profiles on this separate
	// address; keep it on loopback (BERTH_DEBUG_ADDR).
	DebugAddr string `yaml:"debugAddr"`
}

// StorageConfig selects the storage driver.
type StorageConfig struct {
	// Driver is "fs" (default) or "memory" (BERTH_STORAGE_DRIVER).
	Driver string `yaml:"driver"`
	// FS configures the fs driver.
	FS FSConfig `yaml:"fs"`
}

// FSConfig configures the local-disk driver.
type FSConfig struct {
	// RootDirectory defaults to <dataDir>/storage (BERTH_STORAGE_FS_ROOT).
	RootDirectory string `yaml:"rootDirectory"`
	// NoSync turns fsync off: faster, loses data on power failure. Never in
	// production (BERTH_STORAGE_FS_NOSYNC).
	NoSync bool `yaml:"noSync"`
}

// RegistryConfig tunes the distribution API handler.
type RegistryConfig struct {
	// MaxManifestSize caps pushed manifests in bytes (BERTH_MAX_MANIFEST_SIZE).
	MaxManifestSize int64 `yaml:"maxManifestSize"`
	// MaxBlobSize caps one blob in bytes, 0 = no cap (BERTH_MAX_BLOB_SIZE).
	MaxBlobSize int64 `yaml:"maxBlobSize"`
	// SparseManifests accepts manifests whose blobs were not pushed (BERTH_SPARSE_MANIFESTS).
	SparseManifests bool `yaml:"sparseManifests"`
	// AnonymousMount allows mount without from= (BERTH_ANONYMOUS_MOUNT).
	// The example server has no authentication, so it defaults to true.
	AnonymousMount *bool `yaml:"anonymousMount"`
	// Deletes enables DELETE of blobs, manifests and tags (BERTH_DELETES).
	Deletes *bool `yaml:"deletes"`
}

func defaultConfig() Config {
	return Config{
		Addr:            "127.0.0.1:5000",
		DataDir:         "./data",
		LogLevel:        "info",
		Storage:         StorageConfig{Driver: "fs"},
		Registry:        RegistryConfig{MaxManifestSize: 4 << 20},
		ShutdownTimeout: 30 * time.Second,
	}
}

// loadConfig reads path (if not empty) over the defaults, then applies
// environment overrides, then validates. Errors name the offending key.
func loadConfig(path string, getenv func(string) string) (Config, error) {
	c := defaultConfig()
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return c, fmt.Errorf("config: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
			return c, fmt.Errorf("config %s: %w", path, err)
		}
	}
	if err := applyEnv(&c, getenv); err != nil {
		return c, err
	}
	return c, c.validate()
}

func applyEnv(c *Config, getenv func(string) string) error {
	str := func(key string, dst *string) {
		if v := getenv(key); v != "" {
			*dst = v
		}
	}
	var err error
	num := func(key string, dst *int64) {
		if v := getenv(key); v != "" && err == nil {
			n, perr := strconv.ParseInt(v, 10, 64)
			if perr != nil {
				err = fmt.Errorf("config: %s=%q is not an integer", key, v)
			}
			*dst = n
		}
	}
	flag := func(key string, dst *bool) {
		if v := getenv(key); v != "" && err == nil {
			b, perr := strconv.ParseBool(v)
			if perr != nil {
				err = fmt.Errorf("config: %s=%q is not a boolean", key, v)
			}
			*dst = b
		}
	}
	optFlag := func(key string, dst **bool) {
		if v := getenv(key); v != "" && err == nil {
			b, perr := strconv.ParseBool(v)
			if perr != nil {
				err = fmt.Errorf("config: %s=%q is not a boolean", key, v)
			}
			*dst = &b
		}
	}
	str("BERTH_ADDR", &c.Addr)
	str("BERTH_DATA_DIR", &c.DataDir)
	str("BERTH_LOG_LEVEL", &c.LogLevel)
	str("BERTH_DEBUG_ADDR", &c.DebugAddr)
	str("BERTH_STORAGE_DRIVER", &c.Storage.Driver)
	str("BERTH_STORAGE_FS_ROOT", &c.Storage.FS.RootDirectory)
	flag("BERTH_STORAGE_FS_NOSYNC", &c.Storage.FS.NoSync)
	num("BERTH_MAX_MANIFEST_SIZE", &c.Registry.MaxManifestSize)
	num("BERTH_MAX_BLOB_SIZE", &c.Registry.MaxBlobSize)
	flag("BERTH_SPARSE_MANIFESTS", &c.Registry.SparseManifests)
	optFlag("BERTH_ANONYMOUS_MOUNT", &c.Registry.AnonymousMount)
	optFlag("BERTH_DELETES", &c.Registry.Deletes)
	if v := getenv("BERTH_SHUTDOWN_TIMEOUT"); v != "" && err == nil {
		d, perr := time.ParseDuration(v)
		if perr != nil {
			err = fmt.Errorf("config: BERTH_SHUTDOWN_TIMEOUT=%q is not a duration", v)
		}
		c.ShutdownTimeout = d
	}
	return err
}

func (c Config) validate() error {
	switch {
	case c.Addr == "":
		return errors.New("config: addr must not be empty")
	case c.DataDir == "":
		return errors.New("config: dataDir must not be empty")
	case c.Registry.MaxManifestSize <= 0:
		return fmt.Errorf("config: registry.maxManifestSize must be positive, got %d", c.Registry.MaxManifestSize)
	case c.Registry.MaxBlobSize < 0:
		return fmt.Errorf("config: registry.maxBlobSize must not be negative, got %d", c.Registry.MaxBlobSize)
	case c.ShutdownTimeout <= 0:
		return fmt.Errorf("config: shutdownTimeout must be positive, got %s", c.ShutdownTimeout)
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("config: logLevel %q must be debug, info, warn or error", c.LogLevel)
	}
	switch c.Storage.Driver {
	case "fs", "memory":
	default:
		return fmt.Errorf("config: storage.driver %q must be fs or memory", c.Storage.Driver)
	}
	return nil
}
