package replication

import (
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// mountsCap bounds what Mounts remembers; past it, it starts over.
const mountsCap = 1 << 16

// Mounts remembers, per destination registry, one repository holding each
// blob copied there, for cross-repository mounts. The zero value is ready;
// it is safe for concurrent use.
type Mounts struct {
	mu sync.Mutex
	m  map[string]string // registry "@" digest → repository
}

func (m *Mounts) lookup(registry string, d v1.Hash) (string, bool) {
	if m == nil {
		return "", false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	repo, ok := m.m[registry+"@"+d.String()]
	return repo, ok
}

func (m *Mounts) record(registry, repo string, ds ...v1.Hash) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil || len(m.m)+len(ds) > mountsCap {
		m.m = map[string]string{}
	}
	for _, d := range ds {
		m.m[registry+"@"+d.String()] = repo
	}
}

// remember records the blobs of img as present in the copier's
// destination repository.
func (c *copier) remember(img v1.Image) {
	if c.o.Mounts == nil {
		return
	}
	var ds []v1.Hash
	if cd, err := img.ConfigName(); err == nil {
		ds = append(ds, cd)
	}
	if ls, err := img.Layers(); err == nil {
		for _, l := range ls {
			if d, err := l.Digest(); err == nil {
				ds = append(ds, d)
			}
		}
	}
	c.o.Mounts.record(c.dr.RegistryStr(), c.dr.RepositoryStr(), ds...)
}

// mountable makes l a layer go-containerregistry mounts from the
// destination repository Mounts knows for it, if any.
func (c *copier) mountable(l v1.Layer) v1.Layer {
	d, err := l.Digest()
	if err != nil {
		return l
	}
	repo, ok := c.o.Mounts.lookup(c.dr.RegistryStr(), d)
	if !ok || repo == c.dr.RepositoryStr() {
		return l
	}
	return &remote.MountableLayer{Layer: l, Reference: c.dr.Registry.Repo(repo).Digest(d.String())}
}

// mountImage is an image whose layers are mountable where Mounts knows.
type mountImage struct {
	v1.Image
	c *copier
}

// Layers implements v1.Image.
func (i mountImage) Layers() ([]v1.Layer, error) {
	ls, err := i.Image.Layers()
	if err != nil {
		return nil, err
	}
	out := make([]v1.Layer, len(ls))
	for n, l := range ls {
		out[n] = i.c.mountable(l)
	}
	return out, nil
}

// LayerByDigest implements v1.Image.
func (i mountImage) LayerByDigest(h v1.Hash) (v1.Layer, error) {
	l, err := i.Image.LayerByDigest(h)
	if err != nil {
		return nil, err
	}
	return i.c.mountable(l), nil
}

// ConfigLayer is the image's config blob, mountable too (go-
// containerregistry's partial.ConfigLayer uses it).
func (i mountImage) ConfigLayer() (v1.Layer, error) {
	l, err := partial.ConfigLayer(i.Image)
	if err != nil {
		return nil, err
	}
	return i.c.mountable(l), nil
}

// mountIndex is an index whose images are mountImages; the images it
// writes are remembered.
type mountIndex struct {
	idx v1.ImageIndex
	c   *copier
}

// MediaType implements v1.ImageIndex.
func (x mountIndex) MediaType() (types.MediaType, error) { return x.idx.MediaType() }

// Digest implements v1.ImageIndex.
func (x mountIndex) Digest() (v1.Hash, error) { return x.idx.Digest() }

// Size implements v1.ImageIndex.
func (x mountIndex) Size() (int64, error) { return x.idx.Size() }

// IndexManifest implements v1.ImageIndex.
func (x mountIndex) IndexManifest() (*v1.IndexManifest, error) { return x.idx.IndexManifest() }

// RawManifest implements v1.ImageIndex.
func (x mountIndex) RawManifest() ([]byte, error) { return x.idx.RawManifest() }

// Image implements v1.ImageIndex.
func (x mountIndex) Image(h v1.Hash) (v1.Image, error) {
	img, err := x.idx.Image(h)
	if err != nil {
		return nil, err
	}
	x.c.remember(img) // written with the index, or the write fails whole
	return mountImage{img, x.c}, nil
}

// ImageIndex implements v1.ImageIndex.
func (x mountIndex) ImageIndex(h v1.Hash) (v1.ImageIndex, error) {
	idx, err := x.idx.ImageIndex(h)
	if err != nil {
		return nil, err
	}
	return mountIndex{idx, x.c}, nil
}
