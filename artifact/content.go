package artifact

import (
	"context"
	"fmt"
	"io"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/storage"
)

// Bounds of what the Service reads of stored content.
const (
	// maxManifestRead bounds a manifest or an image config read.
	maxManifestRead = 4 << 20
	// maxChartRead bounds a Helm chart's packaged layer.
	maxChartRead = 16 << 20
)

// readContent reads blob d from the registry's storage, refusing one
// larger than limit, and checks its digest.
func (s *Service) readContent(ctx context.Context, d digest.Digest, limit int64) ([]byte, error) {
	if s.content == nil {
		return nil, fmt.Errorf("%w: no storage to read content from", ErrNoRegistry)
	}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	rc, err := s.content.Reader(ctx, storage.BlobPath(d), 0)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: content %s is larger than %d bytes", ErrInvalid, d, limit)
	}
	if d.Algorithm().FromBytes(b) != d {
		return nil, fmt.Errorf("artifact: content %s does not match its digest", d)
	}
	return b, nil
}
