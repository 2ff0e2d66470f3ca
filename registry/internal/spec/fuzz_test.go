package spec_test

import (
	"strings"
	"testing"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/registry/internal/spec"
)

func FuzzParseReference(f *testing.F) {
	for _, s := range []string{"latest", "v1.2.3", "sha256:" + strings.Repeat("a", 64), "sha512:" + strings.Repeat("b", 128), "sha256:xyz", ":", "", "a:b:c", strings.Repeat("t", 200)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ref, err := spec.ParseReference(s)
		if err != nil {
			return
		}
		if (ref.Tag == "") == (ref.Digest == "") {
			t.Fatalf("%q parsed to %+v: exactly one of tag and digest must be set", s, ref)
		}
		if ref.String() != s {
			t.Fatalf("%q round-trips to %q", s, ref.String())
		}
		if ref.Digest != "" {
			if err := ref.Digest.Validate(); err != nil {
				t.Fatalf("accepted invalid digest %q: %v", s, err)
			}
		}
	})
}

func FuzzValidateName(f *testing.F) {
	for _, s := range []string{"library/alpine", "a", "a/b/c", "A", "a//b", "a/", "-a", "a__b", "a...b", "a-----b", strings.Repeat("a", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if spec.ValidateName(s) != nil {
			return
		}
		if len(s) > spec.MaxNameLength || strings.Contains(s, "//") || strings.HasPrefix(s, "/") || strings.HasSuffix(s, "/") || strings.ContainsAny(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ:@ ") {
			t.Fatalf("accepted invalid name %q", s)
		}
		for _, seg := range strings.Split(s, "/") {
			if seg == "." || seg == ".." || seg == "" {
				t.Fatalf("accepted path element %q in %q", seg, s)
			}
		}
	})
}

func FuzzParseContentRange(f *testing.F) {
	for _, s := range []string{"0-99", "bytes 0-99/100", "100-199/*", "5-4", "-1-2", "a-b", "", "99999999999999999999-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		start, end, err := spec.ParseContentRange(s)
		if err != nil {
			return
		}
		if start < 0 || end < start {
			t.Fatalf("%q parsed to %d-%d", s, start, end)
		}
	})
}

func FuzzParseRange(f *testing.F) {
	f.Add("bytes=0-99", int64(100))
	f.Add("bytes=-50", int64(100))
	f.Add("bytes=50-", int64(100))
	f.Add("bytes=500-0", int64(1000))
	f.Add("bytes=0-1,3-4", int64(10))
	f.Add("bytes=5000-10000", int64(3000))
	f.Fuzz(func(t *testing.T, h string, size int64) {
		if size < 0 {
			size = -size
		}
		r, err := spec.ParseRange(h, size)
		if err != nil {
			return
		}
		if r.Start < 0 || r.End < r.Start || r.End >= size {
			t.Fatalf("%q on size %d gave %+v", h, size, r)
		}
	})
}

func FuzzParseManifest(f *testing.F) {
	f.Add("application/vnd.oci.image.manifest.v1+json", []byte(`{"schemaVersion":2,"config":{"mediaType":"a/b","digest":"sha256:`+strings.Repeat("a", 64)+`","size":2},"layers":[]}`))
	f.Add("", []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"digest":"sha256:`+strings.Repeat("b", 64)+`","size":1}],"subject":{"digest":"sha256:`+strings.Repeat("c", 64)+`","size":3}}`))
	f.Add("application/vnd.docker.distribution.manifest.list.v2+json", []byte(`{"schemaVersion":2,"manifests":null}`))
	f.Add("text/plain", []byte(`{"schemaVersion":1,"fsLayers":[{}]}`))
	f.Add("", []byte(`[]`))
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		m, err := spec.ParseManifest(ct, body)
		if err != nil {
			return
		}
		switch m.MediaType {
		case spec.MediaTypeOCIManifest, spec.MediaTypeDockerManifest:
			if m.Config.Digest == "" || len(m.Manifests) != 0 {
				t.Fatalf("image manifest without config or with children: %+v", m)
			}
		case spec.MediaTypeOCIIndex, spec.MediaTypeDockerManifestList:
			if m.Config.Digest != "" || len(m.Layers) != 0 {
				t.Fatalf("index with config or layers: %+v", m)
			}
		default:
			t.Fatalf("accepted media type %q", m.MediaType)
		}
		if m.Size != int64(len(body)) {
			t.Fatalf("size %d for %d bytes", m.Size, len(body))
		}
		all := append(append([]meta.Descriptor{m.Config}, m.Layers...), m.Manifests...)
		for _, d := range all {
			if d.Digest != "" && d.Digest.Validate() != nil {
				t.Fatalf("accepted invalid descriptor digest %q", d.Digest)
			}
		}
	})
}
