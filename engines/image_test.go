package engines

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The images the engines pull and push are made here, byte by byte, so
// every digest a test expects is computed independently of the engines
// and of the registry.

const (
	mtManifest  = "application/vnd.oci.image.manifest.v1+json"
	mtIndex     = "application/vnd.oci.image.index.v1+json"
	mtConfig    = "application/vnd.oci.image.config.v1+json"
	mtLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip"

	annRefName        = "org.opencontainers.image.ref.name"
	annContainerdName = "io.containerd.image.name"
)

type platform struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
}

type descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Platform    *platform         `json:"platform,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type manifest struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType,omitempty"`
	Config        descriptor   `json:"config"`
	Layers        []descriptor `json:"layers"`
	Manifests     []descriptor `json:"manifests,omitempty"` // an index's, when reading one
}

type indexJSON struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Manifests     []descriptor `json:"manifests"`
}

// image is a one-layer linux image.
type image struct {
	arch         string
	manifest     []byte
	digest       string // of manifest
	config       []byte
	configDigest string
	layerTar     []byte // the layer, uncompressed (its diff ID's bytes)
	layer        []byte // the layer as pushed: gzip
}

// index is a multi-platform index over images.
type index struct {
	raw    []byte
	digest string
	images []*image
}

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func hexOf(digest string) string { return strings.TrimPrefix(digest, "sha256:") }

func randHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// newImage makes an image for linux/arch whose layer holds one file of
// random bytes, so no two images share a layer or a config.
func newImage(t *testing.T, arch string) *image {
	t.Helper()
	content := make([]byte, 4096)
	if _, err := rand.Read(content); err != nil {
		t.Fatal(err)
	}
	name := "berth-engines/" + randHex(6) + ".bin"
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)),
		ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(content); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(tb.Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	config, err := json.Marshal(map[string]any{
		"architecture": arch,
		"os":           "linux",
		"created":      "1970-01-01T00:00:00Z",
		"config":       map[string]any{"Labels": map[string]string{"berth.engines.file": name}},
		"rootfs":       map[string]any{"type": "layers", "diff_ids": []string{digestOf(tb.Bytes())}},
	})
	if err != nil {
		t.Fatal(err)
	}
	m, err := json.Marshal(manifest{
		SchemaVersion: 2,
		MediaType:     mtManifest,
		Config:        descriptor{MediaType: mtConfig, Digest: digestOf(config), Size: int64(len(config))},
		Layers:        []descriptor{{MediaType: mtLayerGzip, Digest: digestOf(gz.Bytes()), Size: int64(gz.Len())}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &image{arch: arch, manifest: m, digest: digestOf(m), config: config, configDigest: digestOf(config),
		layerTar: tb.Bytes(), layer: gz.Bytes()}
}

func (img *image) desc(annotations map[string]string) descriptor {
	return descriptor{MediaType: mtManifest, Digest: img.digest, Size: int64(len(img.manifest)),
		Platform: &platform{Architecture: img.arch, OS: "linux"}, Annotations: annotations}
}

func newIndex(t *testing.T, imgs ...*image) *index {
	t.Helper()
	var descs []descriptor
	for _, img := range imgs {
		descs = append(descs, img.desc(nil))
	}
	raw, err := json.Marshal(indexJSON{SchemaVersion: 2, MediaType: mtIndex, Manifests: descs})
	if err != nil {
		t.Fatal(err)
	}
	return &index{raw: raw, digest: digestOf(raw), images: imgs}
}

// ociFiles are the files of an OCI image layout holding imgs, with
// index.json as given.
func ociFiles(indexJSON []byte, imgs ...*image) map[string][]byte {
	files := map[string][]byte{
		"oci-layout": []byte(`{"imageLayoutVersion":"1.0.0"}`),
		"index.json": indexJSON,
	}
	for _, img := range imgs {
		for _, b := range [][]byte{img.manifest, img.config, img.layer} {
			files["blobs/sha256/"+hexOf(digestOf(b))] = b
		}
	}
	return files
}

// layoutIndex is an index.json listing one image, named name.
func layoutIndex(t *testing.T, img *image, name string) []byte {
	t.Helper()
	ann := map[string]string{annRefName: name}
	if strings.Contains(name, "/") {
		ann[annContainerdName] = name
	}
	b, err := json.Marshal(indexJSON{SchemaVersion: 2, MediaType: mtIndex, Manifests: []descriptor{img.desc(ann)}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// writeLayout writes an OCI layout directory of img (tag "latest"), for
// `crane push DIR REF`.
func writeLayout(t *testing.T, img *image) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "layout")
	writeFiles(t, dir, ociFiles(layoutIndex(t, img, "latest"), img))
	return dir
}

// writeIndexLayout writes an OCI layout whose index.json is idx itself,
// for `crane push --index DIR REF`.
func writeIndexLayout(t *testing.T, idx *index) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "layout")
	writeFiles(t, dir, ociFiles(idx.raw, idx.images...))
	return dir
}

// writeOCIArchive writes img as an OCI layout tar archive naming it ref
// (both as the OCI ref name and as containerd's image name): what ctr
// import, nerdctl load and podman load read.
func writeOCIArchive(t *testing.T, img *image, ref string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "oci.tar")
	writeTar(t, path, ociFiles(layoutIndex(t, img, ref), img))
	return path
}

// writeDockerArchive writes img in the format of `docker save`
// (manifest.json, the config, the layer uncompressed), tagged ref: what
// docker load reads.
func writeDockerArchive(t *testing.T, img *image, ref string) string {
	t.Helper()
	layer := hexOf(digestOf(img.layerTar)) + "/layer.tar"
	config := hexOf(img.configDigest) + ".json"
	m, err := json.Marshal([]map[string]any{{"Config": config, "RepoTags": []string{ref}, "Layers": []string{layer}}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "docker.tar")
	writeTar(t, path, map[string][]byte{"manifest.json": m, config: img.config, layer: img.layerTar})
	return path
}

func writeFiles(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	for name, b := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func writeTar(t *testing.T, path string, files map[string][]byte) {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	dirs := map[string]bool{}
	for name := range files {
		for d := filepath.Dir(name); d != "."; d = filepath.Dir(d) {
			dirs[d] = true
		}
	}
	for _, d := range slices.Sorted(maps.Keys(dirs)) {
		if err := tw.WriteHeader(&tar.Header{Name: d + "/", Mode: 0o755, Typeflag: tar.TypeDir, ModTime: time.Unix(0, 0)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		content := files[name]
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)),
			Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(content); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
