package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Test content is built here, by hand, as OCI image layouts on disk: the
// digests the registry and the clients report can then be checked against
// values computed independently of any client.

const (
	mtManifest  = "application/vnd.oci.image.manifest.v1+json"
	mtIndex     = "application/vnd.oci.image.index.v1+json"
	mtConfig    = "application/vnd.oci.image.config.v1+json"
	mtLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip"
	annRefName  = "org.opencontainers.image.ref.name"
)

type platform struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
}

type descriptor struct {
	MediaType    string            `json:"mediaType"`
	Digest       string            `json:"digest"`
	Size         int64             `json:"size"`
	ArtifactType string            `json:"artifactType,omitempty"`
	Platform     *platform         `json:"platform,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
}

type manifest struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType,omitempty"`
	ArtifactType  string            `json:"artifactType,omitempty"`
	Config        descriptor        `json:"config"`
	Layers        []descriptor      `json:"layers"`
	Subject       *descriptor       `json:"subject,omitempty"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

type index struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType,omitempty"`
	Manifests     []descriptor      `json:"manifests"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

// image is a single-layer OCI image held in memory.
type image struct {
	Manifest     []byte
	Digest       string // manifest digest
	ConfigDigest string
	Layers       []descriptor
	Platform     platform
	blobs        map[string][]byte // config and layers by digest
}

// Desc is the image's manifest descriptor, with its platform.
func (img *image) Desc() descriptor {
	p := img.Platform
	return descriptor{MediaType: mtManifest, Digest: img.Digest, Size: int64(len(img.Manifest)), Platform: &p}
}

// newImage builds an image whose one layer is a gzipped tar holding a file of
// layerSize random bytes, for os linux and the given architecture.
func newImage(t *testing.T, arch string, layerSize int) *image {
	t.Helper()
	content := randBytes(t, layerSize)
	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	name := "berth-e2e/" + randHex(8) + ".bin"
	hdr := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg}
	if err := tw.WriteHeader(hdr); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(content); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	var gzBuf bytes.Buffer
	zw := gzip.NewWriter(&gzBuf)
	if _, err := zw.Write(tarBuf.Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	layer := gzBuf.Bytes()

	plat := platform{Architecture: arch, OS: "linux"}
	config, err := json.Marshal(map[string]any{
		"architecture": plat.Architecture,
		"os":           plat.OS,
		"config":       map[string]any{"Labels": map[string]string{"berth.e2e": name}},
		"rootfs":       map[string]any{"type": "layers", "diff_ids": []string{digestOf(tarBuf.Bytes())}},
	})
	if err != nil {
		t.Fatal(err)
	}
	layers := []descriptor{{MediaType: mtLayerGzip, Digest: digestOf(layer), Size: int64(len(layer))}}
	m := manifest{
		SchemaVersion: 2,
		MediaType:     mtManifest,
		Config:        descriptor{MediaType: mtConfig, Digest: digestOf(config), Size: int64(len(config))},
		Layers:        layers,
	}
	mb, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return &image{
		Manifest:     mb,
		Digest:       digestOf(mb),
		ConfigDigest: m.Config.Digest,
		Layers:       layers,
		Platform:     plat,
		blobs:        map[string][]byte{digestOf(config): config, digestOf(layer): layer},
	}
}

// LayerBytes returns the bytes of the image's first layer.
func (img *image) LayerBytes() []byte { return img.blobs[img.Layers[0].Digest] }

func blobPath(dir, digest string) string {
	alg, hex, _ := strings.Cut(digest, ":")
	return filepath.Join(dir, "blobs", alg, hex)
}

func writeBlob(t *testing.T, dir string, b []byte) {
	t.Helper()
	writeFile(t, blobPath(dir, digestOf(b)), b)
}

func writeLayoutMarker(t *testing.T, dir string) {
	t.Helper()
	writeFile(t, filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`))
}

// writeImageLayout writes img into an OCI layout at dir, named tag.
func writeImageLayout(t *testing.T, dir, tag string, img *image) {
	t.Helper()
	writeLayoutMarker(t, dir)
	for _, b := range img.blobs {
		writeBlob(t, dir, b)
	}
	writeBlob(t, dir, img.Manifest)
	desc := descriptor{MediaType: mtManifest, Digest: img.Digest, Size: int64(len(img.Manifest)),
		Annotations: map[string]string{annRefName: tag}}
	ib, err := json.Marshal(index{SchemaVersion: 2, MediaType: mtIndex, Manifests: []descriptor{desc}})
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "index.json"), ib)
}

// writeIndexLayout writes an OCI layout whose index.json is itself a
// multi-platform index over imgs (the form `crane push --index` uploads), and
// returns the index bytes: their digest is the pushed index's digest.
func writeIndexLayout(t *testing.T, dir string, imgs ...*image) []byte {
	t.Helper()
	writeLayoutMarker(t, dir)
	var descs []descriptor
	for _, img := range imgs {
		for _, b := range img.blobs {
			writeBlob(t, dir, b)
		}
		writeBlob(t, dir, img.Manifest)
		descs = append(descs, img.Desc())
	}
	ib, err := json.Marshal(index{SchemaVersion: 2, MediaType: mtIndex, Manifests: descs})
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "index.json"), ib)
	return ib
}

// checkLayoutImage asserts that the OCI layout at dir holds the image with
// manifest digest want, with every blob present and matching its digest, and
// returns the parsed manifest.
func checkLayoutImage(t *testing.T, dir, want string) manifest {
	t.Helper()
	var idx index
	mustJSON(t, string(readFile(t, filepath.Join(dir, "index.json"))), &idx)
	found := false
	for _, d := range idx.Manifests {
		if d.Digest == want {
			found = true
		}
	}
	if !found {
		t.Fatalf("layout %s: index.json lists %v, want manifest %s", dir, idx.Manifests, want)
	}
	mb := readFile(t, blobPath(dir, want))
	if got := digestOf(mb); got != want {
		t.Fatalf("layout %s: manifest blob hashes to %s, want %s", dir, got, want)
	}
	var m manifest
	mustJSON(t, string(mb), &m)
	for _, d := range append([]descriptor{m.Config}, m.Layers...) {
		p := blobPath(dir, d.Digest)
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatalf("layout %s: blob %s missing: %v", dir, d.Digest, err)
		}
		if fi.Size() != d.Size {
			t.Errorf("layout %s: blob %s is %d bytes, descriptor says %d", dir, d.Digest, fi.Size(), d.Size)
		}
		if got := fileDigest(t, p); got != d.Digest {
			t.Errorf("layout %s: blob %s hashes to %s", dir, d.Digest, got)
		}
	}
	return m
}
