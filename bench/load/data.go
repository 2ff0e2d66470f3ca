package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"

	"github.com/opencontainers/go-digest"
)

// patternBlock is the size of the random block a large blob repeats. It fits
// in cache so generating data costs the client next to nothing.
const patternBlock = 1 << 20

// largeBlob is a large blob described by a seed: its bytes are a random
// block repeated, so any range can be streamed without holding the blob.
type largeBlob struct {
	block  []byte
	size   int64
	digest digest.Digest
}

// newLargeBlob builds the blob for seed and computes its digest by streaming
// it once (outside any timed section).
func newLargeBlob(seed uint64, size int64) (*largeBlob, error) {
	b := &largeBlob{block: randomBytes(seed, patternBlock), size: size}
	dg := digest.Canonical.Digester()
	if _, err := io.CopyBuffer(dg.Hash(), b.reader(0, size), make([]byte, patternBlock)); err != nil {
		return nil, err
	}
	b.digest = dg.Digest()
	return b, nil
}

// reader streams bytes [off, off+n) of the blob.
func (b *largeBlob) reader(off, n int64) io.Reader {
	return &patternReader{block: b.block, pos: off, end: off + n}
}

// patternReader yields block repeated, from absolute offset pos to end.
type patternReader struct {
	block    []byte
	pos, end int64
}

// Read implements io.Reader.
func (r *patternReader) Read(p []byte) (int, error) {
	if r.pos >= r.end {
		return 0, io.EOF
	}
	if rem := r.end - r.pos; int64(len(p)) > rem {
		p = p[:rem]
	}
	n := 0
	for n < len(p) {
		i := (r.pos + int64(n)) % int64(len(r.block))
		n += copy(p[n:], r.block[i:])
	}
	r.pos += int64(n)
	return n, nil
}

// randomBytes returns n pseudo-random bytes determined by seed.
func randomBytes(seed uint64, n int) []byte {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	binary.LittleEndian.PutUint64(key[8:], 0x6265727468) // "berth"
	out := make([]byte, n)
	_, _ = rand.NewChaCha8(key).Read(out)
	return out
}

// OCI media types used by the generated images.
const (
	mediaTypeManifest = "application/vnd.oci.image.manifest.v1+json"
	mediaTypeConfig   = "application/vnd.oci.image.config.v1+json"
	mediaTypeLayer    = "application/vnd.oci.image.layer.v1.tar+gzip"
)

// descriptor is the subset of an OCI descriptor the manifests need.
type descriptor struct {
	MediaType string        `json:"mediaType"`
	Digest    digest.Digest `json:"digest"`
	Size      int64         `json:"size"`
}

// image is one config and one layer, pushed once per repository, that many
// small manifests refer to.
type image struct {
	config, layer         []byte
	configDesc, layerDesc descriptor
}

// newImage builds a tiny but well-formed image: a gzipped tar layer holding
// one file, and a config whose diff_id matches it.
func newImage(seed uint64) (*image, error) {
	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	content := fmt.Appendf(nil, "berth bench %x\n", randomBytes(seed, 16))
	if err := tw.WriteHeader(&tar.Header{Name: "bench.txt", Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(content); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	var gzBuf bytes.Buffer
	zw := gzip.NewWriter(&gzBuf)
	if _, err := zw.Write(tarBuf.Bytes()); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	cfg, err := json.Marshal(map[string]any{
		"architecture": "amd64",
		"os":           "linux",
		"config":       map[string]any{},
		"rootfs": map[string]any{
			"type":     "layers",
			"diff_ids": []string{digest.FromBytes(tarBuf.Bytes()).String()},
		},
	})
	if err != nil {
		return nil, err
	}
	img := &image{config: cfg, layer: gzBuf.Bytes()}
	img.configDesc = descriptor{MediaType: mediaTypeConfig, Digest: digest.FromBytes(cfg), Size: int64(len(cfg))}
	img.layerDesc = descriptor{MediaType: mediaTypeLayer, Digest: digest.FromBytes(img.layer), Size: int64(len(img.layer))}
	return img, nil
}

// manifest returns an OCI image manifest for img made unique by id, so every
// call yields a distinct digest.
func (img *image) manifest(id string) []byte {
	m := struct {
		SchemaVersion int               `json:"schemaVersion"`
		MediaType     string            `json:"mediaType"`
		Config        descriptor        `json:"config"`
		Layers        []descriptor      `json:"layers"`
		Annotations   map[string]string `json:"annotations"`
	}{
		SchemaVersion: 2,
		MediaType:     mediaTypeManifest,
		Config:        img.configDesc,
		Layers:        []descriptor{img.layerDesc},
		Annotations:   map[string]string{"dev.berth.bench.id": id},
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err) // plain structs of strings cannot fail to marshal
	}
	return b
}
