package registry

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/registry/internal/spec"
)

// code is the OCI error code of err ("" for nil, "?" for another error).
func code(err error) ErrorCode {
	if err == nil {
		return ""
	}
	var e *Error
	if !errors.As(err, &e) {
		return "?"
	}
	return e.Code
}

func TestPushTags(t *testing.T) {
	d := digest.FromString("m")
	byTag, byDigest := spec.Reference{Tag: "v1"}, spec.Reference{Digest: d}
	for name, c := range map[string]struct {
		ref    spec.Reference
		params []string
		want   []string
		code   ErrorCode
	}{
		"tag":                      {byTag, nil, []string{"v1"}, ""},
		"tag ignores params":       {byTag, []string{"a", "b"}, []string{"v1"}, ""},
		"tag still checks params":  {byTag, []string{"a", "bad tag"}, nil, CodeManifestInvalid},
		"digest alone":             {byDigest, nil, []string{}, ""},
		"digest with params":       {byDigest, []string{"b", "a", "b"}, []string{"b", "a"}, ""},
		"digest with a bad param":  {byDigest, []string{"ok", ":x"}, nil, CodeManifestInvalid},
		"digest with a long param": {byDigest, []string{strings.Repeat("t", 129)}, nil, CodeManifestInvalid},
	} {
		got, err := pushTags(c.ref, c.params)
		if code(err) != c.code || !slices.Equal(got, c.want) {
			t.Errorf("%s: pushTags = %q, %v; want %q, %s", name, got, err, c.want, c.code)
		}
		if err == nil && got == nil {
			t.Errorf("%s: nil tags", name)
		}
	}
}

func TestCheckManifestSize(t *testing.T) {
	for _, c := range []struct {
		n, limit int64
		code     ErrorCode
	}{
		{-1, 10, ""}, {0, 10, ""}, {10, 10, ""}, {11, 10, CodeSizeInvalid}, {1 << 40, 4 << 20, CodeSizeInvalid},
	} {
		err := checkManifestSize(c.n, c.limit)
		if code(err) != c.code {
			t.Errorf("checkManifestSize(%d, %d) = %v, want %s", c.n, c.limit, err, c.code)
		}
		var e *Error
		if errors.As(err, &e) && e.Status != http.StatusRequestEntityTooLarge {
			t.Errorf("checkManifestSize(%d, %d): status %d", c.n, c.limit, e.Status)
		}
	}
}

func TestManifestRecord(t *testing.T) {
	cfg := digest.FromString("config")
	body := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"a/b","digest":"` +
		cfg.String() + `","size":6},"layers":[]}`)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))
	for name, c := range map[string]struct {
		ref    spec.Reference
		ct     string
		body   []byte
		digest digest.Digest
		code   ErrorCode
	}{
		"by tag":               {spec.Reference{Tag: "v1"}, spec.MediaTypeOCIManifest, body, digest.FromBytes(body), ""},
		"by its digest":        {spec.Reference{Digest: digest.FromBytes(body)}, "", body, digest.FromBytes(body), ""},
		"by its sha512 digest": {spec.Reference{Digest: digest.SHA512.FromBytes(body)}, "", body, digest.SHA512.FromBytes(body), ""},
		"by another digest":    {spec.Reference{Digest: digest.FromString("other")}, "", body, "", CodeDigestInvalid},
		"digest before parse":  {spec.Reference{Digest: digest.FromString("other")}, "", []byte("{"), "", CodeDigestInvalid},
		"not a manifest":       {spec.Reference{Tag: "v1"}, "", []byte("{"), "", CodeManifestInvalid},
		"type mismatch":        {spec.Reference{Tag: "v1"}, spec.MediaTypeOCIIndex, body, "", CodeManifestInvalid},
	} {
		m, err := manifestRecord(c.ref, c.ct, c.body, now)
		if code(err) != c.code {
			t.Errorf("%s: error %v, want %s", name, err, c.code)
			continue
		}
		if err != nil {
			continue
		}
		if m.Digest != c.digest || !m.PushedAt.Equal(now) || m.PushedAt.Location() != time.UTC ||
			m.Size != int64(len(c.body)) || m.MediaType != spec.MediaTypeOCIManifest || m.Config.Digest != cfg {
			t.Errorf("%s: record %+v", name, m)
		}
	}
}

func TestPushedHeader(t *testing.T) {
	d, subject := digest.FromString("m"), digest.FromString("s")
	for name, c := range map[string]struct {
		ref  spec.Reference
		m    meta.Manifest
		tags []string
		want http.Header
	}{
		"by tag": {spec.Reference{Tag: "v1"}, meta.Manifest{Digest: d}, []string{"v1"}, http.Header{
			"Location": {"/v2/team/app/manifests/" + d.String()}, "Docker-Content-Digest": {d.String()}, "Content-Length": {"0"}}},
		"by digest with tags and a subject": {spec.Reference{Digest: d}, meta.Manifest{Digest: d, Subject: subject}, []string{"a", "b"}, http.Header{
			"Location": {"/v2/team/app/manifests/" + d.String()}, "Docker-Content-Digest": {d.String()}, "Content-Length": {"0"},
			"Oci-Subject": {subject.String()}, "Oci-Tag": {"a", "b"}}},
		"by digest alone": {spec.Reference{Digest: d}, meta.Manifest{Digest: d}, []string{}, http.Header{
			"Location": {"/v2/team/app/manifests/" + d.String()}, "Docker-Content-Digest": {d.String()}, "Content-Length": {"0"}}},
	} {
		got := pushedHeader("team/app", c.ref, c.m, c.tags)
		if len(got) != len(c.want) {
			t.Errorf("%s: header %v, want %v", name, got, c.want)
		}
		for k, vs := range c.want {
			if !slices.Equal(got[k], vs) {
				t.Errorf("%s: %s = %q, want %q", name, k, got[k], vs)
			}
		}
	}
}
