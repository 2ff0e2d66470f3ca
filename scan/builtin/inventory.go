package builtin

import (
	"context"
	"fmt"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	layerimage "github.com/google/osv-scalibr/artifact/image/layerscanning/image"
	"github.com/google/osv-scalibr/artifact/image/layerscanning/trace"
	cpb "github.com/google/osv-scalibr/binary/proto/config_go_proto"
	"github.com/google/osv-scalibr/extractor/filesystem"
	"github.com/google/osv-scalibr/extractor/filesystem/language/golang/gobinary"
	"github.com/google/osv-scalibr/extractor/filesystem/os/apk"
	"github.com/google/osv-scalibr/extractor/filesystem/os/dpkg"
	"github.com/google/osv-scalibr/extractor/filesystem/os/rpm"
	scalibrfs "github.com/google/osv-scalibr/fs"
	"github.com/google/osv-scalibr/inventory"
	"github.com/google/osv-scalibr/plugin"
	"github.com/google/osv-scalibr/stats"
)

// extractors are the osv-scalibr extractors the scanner runs: the OS
// package databases (dpkg, apk, rpm) and Go build info in binaries.
func extractors() ([]filesystem.Extractor, error) {
	cfg := &cpb.PluginConfig{}
	var out []filesystem.Extractor
	for _, newExtractor := range []func(*cpb.PluginConfig) (filesystem.Extractor, error){dpkg.New, apk.New, rpm.New, gobinary.New} {
		e, err := newExtractor(cfg)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// inventory lists the packages in img's file system: its layers applied
// in order, whiteouts honoured, as osv-scalibr's layer scanning builds it
// (from local copies of the layers, see localImage), each package with
// the layer that brought it. It runs osv-scalibr's file system walk with
// the extractors directly: the library's top-level scanner would compile
// in every plugin it has.
func (s *Scanner) inventory(ctx context.Context, img v1.Image) (inventory.Inventory, error) {
	var inv inventory.Inventory
	dir, err := os.MkdirTemp("", "berth-scan-")
	if err != nil {
		return inv, err
	}
	defer os.RemoveAll(dir)
	local, err := localImage(ctx, img, dir)
	if err != nil {
		return inv, err
	}
	limg, err := layerimage.FromV1Image(local, layerimage.DefaultConfig())
	if err != nil {
		return inv, fmt.Errorf("reading the image's layers: %w", err)
	}
	defer func() {
		if err := limg.CleanUp(); err != nil {
			s.logger.Warn("removing the scanned image's files", "err", err)
		}
	}()
	exts, err := extractors()
	if err != nil {
		return inv, fmt.Errorf("setting up the extractors: %w", err)
	}
	chain, err := limg.ChainLayers()
	if err != nil {
		return inv, fmt.Errorf("reading the image's layers: %w", err)
	}
	cfg := &filesystem.Config{Extractors: exts, ScanRoots: []*scalibrfs.ScanRoot{{FS: limg.FS()}}, Stats: stats.NoopCollector{}}
	inv, statuses, err := filesystem.Run(ctx, cfg)
	if err != nil {
		return inv, fmt.Errorf("listing the image's packages: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return inv, err
	}
	for _, st := range statuses {
		if st.Status != nil && st.Status.Status == plugin.ScanStatusFailed {
			s.logger.Warn("a package database could not be read", "extractor", st.Name, "reason", st.Status.FailureReason)
		}
	}
	trace.PopulateLayerDetails(ctx, &inv, chain, exts, cfg)
	return inv, nil
}
