package server

import (
	"fmt"
	"strings"
	"time"
)

// ScanConfig configures vulnerability scanning.
type ScanConfig struct {
	// OSVDB is the OSV database the built-in scanner matches packages
	// against: a directory of OSV JSON records or a zip archive of them,
	// as osv.dev publishes per ecosystem (BERTH_SCAN_OSV_DB). Without
	// one the built-in scanner makes SBOMs only.
	OSVDB string `yaml:"osvDB"`
	// Builtin registers the built-in scanner that WithBuiltinScanner
	// compiles in (BERTH_SCAN_BUILTIN; default: whenever one is; true
	// without one is an error).
	Builtin *bool `yaml:"builtin"`
	// AutoScan scans every pushed image, whatever the project's auto_scan
	// says (BERTH_SCAN_AUTO_SCAN).
	AutoScan bool `yaml:"autoScan"`
	// Concurrency caps the scans running at once (BERTH_SCAN_CONCURRENCY,
	// default 2).
	Concurrency int `yaml:"concurrency"`
	// Timeout bounds one scan (BERTH_SCAN_TIMEOUT, default 30m).
	Timeout time.Duration `yaml:"timeout"`
	// RegistryURL is the address scanner adapters pull from (default
	// http:// and events.externalHost, else addr) (BERTH_SCAN_REGISTRY_URL).
	RegistryURL string `yaml:"registryURL"`
	// TokenLifetime is how long a scanner's pull token lasts
	// (BERTH_SCAN_TOKEN_LIFETIME, default 30m).
	TokenLifetime time.Duration `yaml:"tokenLifetime"`
}

// validate checks the scan settings.
func (c ScanConfig) validate() error {
	switch {
	case c.Concurrency < 1:
		return fmt.Errorf("config: scan.concurrency %d must be at least 1", c.Concurrency)
	case c.Timeout <= 0:
		return fmt.Errorf("config: scan.timeout %s must be positive", c.Timeout)
	case c.TokenLifetime < time.Minute:
		return fmt.Errorf("config: scan.tokenLifetime %s must be at least a minute", c.TokenLifetime)
	case c.RegistryURL != "" && !strings.HasPrefix(c.RegistryURL, "http://") && !strings.HasPrefix(c.RegistryURL, "https://"):
		return fmt.Errorf("config: scan.registryURL %q must be an http or https URL", c.RegistryURL)
	}
	return nil
}
