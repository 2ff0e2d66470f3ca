package builtin

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// opaqueWhiteout marks a directory whose lower-layer contents a layer
// hides (OCI image layer spec). osv-scalibr v0.5.3's layer scanning reads
// it as the whiteout of a file named ".wh..opq", leaving the lower
// layers' files in place; localImage spells each one out as the
// whiteouts of the hidden entries, which osv-scalibr does honour.
const opaqueWhiteout = ".wh..wh..opq"

// localImage copies img's layers, uncompressed, into dir (each is
// downloaded once and its digest checked) and returns img reading its
// layers from there, with every opaque whiteout replaced as above.
func localImage(ctx context.Context, img v1.Image, dir string) (v1.Image, error) {
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("listing the image's layers: %w", err)
	}
	var below []map[string]bool // the paths of each lower layer
	out := &localImg{Image: img}
	for i, l := range layers {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		name, paths, opaque, err := copyLayer(l, dir)
		if err != nil {
			d, _ := l.Digest()
			return nil, fmt.Errorf("reading layer %d (%s): %w", i, d, err)
		}
		hidden := map[string]bool{}
		for _, d := range opaque {
			for _, lower := range below {
				for p := range lower {
					if c, ok := childOf(p, d); ok && !paths[c] {
						hidden[c] = true
					}
				}
			}
		}
		below = append(below, paths)
		out.layers = append(out.layers, &localLayer{Layer: l, file: name, whiteouts: slices.Sorted(maps.Keys(hidden))})
	}
	return out, nil
}

// copyLayer writes l's tar to a file in dir and lists the paths it
// holds (with their parent directories) and the directories it makes
// opaque.
func copyLayer(l v1.Layer, dir string) (string, map[string]bool, []string, error) {
	rc, err := l.Uncompressed()
	if err != nil {
		return "", nil, nil, err
	}
	defer rc.Close()
	f, err := os.CreateTemp(dir, "layer-*.tar")
	if err != nil {
		return "", nil, nil, err
	}
	defer f.Close()
	tee := io.TeeReader(rc, f)
	paths := map[string]bool{}
	var opaque []string
	tr := tar.NewReader(tee)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", nil, nil, err
		}
		p := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		base := path.Base(p)
		switch {
		case base == opaqueWhiteout:
			opaque = append(opaque, path.Dir(p))
			continue
		case strings.HasPrefix(base, ".wh."):
			continue
		}
		for ; p != "." && p != "" && !paths[p]; p = path.Dir(p) {
			paths[p] = true
		}
	}
	// Read to the end: the rest of the copy, and the digest check.
	if _, err := io.Copy(io.Discard, tee); err != nil {
		return "", nil, nil, err
	}
	return f.Name(), paths, opaque, f.Close()
}

// childOf is the entry directly under dir that p is or is in.
func childOf(p, dir string) (string, bool) {
	prefix := dir + "/"
	if dir == "." {
		prefix = ""
	}
	if !strings.HasPrefix(p, prefix) || p == dir {
		return "", false
	}
	first, _, _ := strings.Cut(p[len(prefix):], "/")
	return prefix + first, true
}

// localImg is an image whose layers are read from local files.
type localImg struct {
	v1.Image
	layers []v1.Layer
}

// Layers implements v1.Image.
func (i *localImg) Layers() ([]v1.Layer, error) { return i.layers, nil }

// localLayer is a layer read from a local copy of its tar, with
// whiteouts appended to it.
type localLayer struct {
	v1.Layer
	file      string
	whiteouts []string
}

// Uncompressed implements v1.Layer.
func (l *localLayer) Uncompressed() (io.ReadCloser, error) {
	f, err := os.Open(l.file)
	if err != nil {
		return nil, err
	}
	if len(l.whiteouts) == 0 {
		return f, nil
	}
	pr, pw := io.Pipe()
	go func() {
		defer f.Close()
		pw.CloseWithError(appendWhiteouts(pw, f, l.whiteouts))
	}()
	return pr, nil
}

// appendWhiteouts copies the tar in r to w, then adds a whiteout entry
// for each path. Coming after the layer's own entries, they hide only the
// lower layers' files.
func appendWhiteouts(w io.Writer, r io.Reader, paths []string) error {
	tr, tw := tar.NewReader(r), tar.NewWriter(w)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if path.Base(h.Name) == opaqueWhiteout {
			continue
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return err
		}
	}
	for _, p := range paths {
		wh := path.Join(path.Dir(p), ".wh."+path.Base(p))
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: wh, Mode: 0o644}); err != nil {
			return err
		}
	}
	return tw.Close()
}
