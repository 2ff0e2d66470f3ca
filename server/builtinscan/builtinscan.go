package builtinscan

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"

	"github.com/berthreg/berth/scan"
	"github.com/berthreg/berth/scan/builtin"
	"github.com/berthreg/berth/scan/osv"
)

// New opens Berth's offline scanner (scan/builtin) as a server's built-in
// scanner: it matches packages against the OSV database at osvDB (a
// directory of OSV JSON records or a zip archive of them; "" for none:
// the scanner then makes SBOMs only and does not offer vulnerability
// scans), runs up to concurrency scans at once and pulls images through
// local. The Closer stops its background scans. It is a
// server.BuiltinScanner.
func New(osvDB string, concurrency int, local http.RoundTripper, logger *slog.Logger) (scan.Scanner, io.Closer, error) {
	var db *osv.DB
	if osvDB != "" {
		var err error
		if db, err = osv.Load(osvDB); err != nil {
			return nil, nil, fmt.Errorf("config: scan.osvDB: %w", err)
		}
		logger.Info("scan: OSV database loaded", "path", osvDB, "advisories", db.Len())
	} else {
		logger.Warn("scan: no scan.osvDB: the built-in scanner makes SBOMs only")
	}
	s := builtin.New(db, builtin.WithConcurrency(concurrency), builtin.WithLogger(logger), builtin.WithTransport(local))
	if db == nil {
		return sbomOnly{s}, s, nil
	}
	return s, s, nil
}

// sbomOnly is a scanner without its vulnerability capability: the
// built-in scanner without a database, which would find nothing.
type sbomOnly struct{ scan.Scanner }

// Metadata drops the vulnerability capability.
func (s sbomOnly) Metadata(ctx context.Context) (scan.Metadata, error) {
	md, err := s.Scanner.Metadata(ctx)
	md.Capabilities = slices.DeleteFunc(md.Capabilities, func(c scan.Capability) bool {
		return c.Type == "" || c.Type == scan.CapabilityVulnerability
	})
	return md, err
}
