package main

import (
	"bytes"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/berthreg/berth/bench/internal/stats"
	"github.com/opencontainers/go-digest"
)

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"4096": 4096, "4KiB": 4096, "16MiB": 16 << 20, "1GiB": 1 << 30, "1 GiB": 1 << 30,
		"2MB": 2e6, "3G": 3 << 30, "10B": 10,
	} {
		got, err := parseSize(in)
		if err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "GiB", "1.5GiB", "x"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) succeeded", in)
		}
	}
}

func TestParseScenarios(t *testing.T) {
	got, err := parseScenarios("catalog, pull")
	if err != nil || len(got) != 2 || got[0] != "pull" || got[1] != "catalog" {
		t.Fatalf("got %v, %v; want canonical order [pull catalog]", got, err)
	}
	if _, err := parseScenarios("pull,nope"); err == nil {
		t.Fatal("unknown scenario accepted")
	}
}

func TestNextLink(t *testing.T) {
	cases := []struct {
		header []string
		want   string
		ok     bool
	}{
		{[]string{`</v2/_catalog?last=b&n=2>; rel="next"`}, "/v2/_catalog?last=b&n=2", true},
		{[]string{`<http://h/v2/r/tags/list?n=1&last=a>;rel=next`}, "http://h/v2/r/tags/list?n=1&last=a", true},
		{[]string{`</x>; rel="prev", </y>; rel="next"`}, "/y", true},
		{[]string{`</x>; rel="prev"`}, "", false},
		{nil, "", false},
	}
	for _, c := range cases {
		h := http.Header{}
		for _, v := range c.header {
			h.Add("Link", v)
		}
		got, ok := nextLink(h)
		if got != c.want || ok != c.ok {
			t.Errorf("nextLink(%q) = %q, %v; want %q, %v", c.header, got, ok, c.want, c.ok)
		}
	}
}

func TestLargeBlobRangesMatchWhole(t *testing.T) {
	const size = 3*patternBlock + 12345
	b, err := newLargeBlob(42, size)
	if err != nil {
		t.Fatal(err)
	}
	whole, err := io.ReadAll(b.reader(0, size))
	if err != nil || len(whole) != size {
		t.Fatalf("read %d bytes, %v", len(whole), err)
	}
	if digest.FromBytes(whole) != b.digest {
		t.Fatal("digest differs from the streamed bytes")
	}
	var parts []byte
	const chunk = patternBlock/2 + 7 // not aligned with the block
	for off := int64(0); off < size; off += chunk {
		p, err := io.ReadAll(b.reader(off, min(chunk, size-off)))
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, p...)
	}
	if !bytes.Equal(parts, whole) {
		t.Fatal("chunked reads differ from the whole")
	}
	other, _ := newLargeBlob(43, size)
	if other.digest == b.digest {
		t.Fatal("different seeds gave the same blob")
	}
}

func TestImageManifestsAreDistinct(t *testing.T) {
	img, err := newImage(1)
	if err != nil {
		t.Fatal(err)
	}
	a, b := img.manifest("a"), img.manifest("b")
	if digest.FromBytes(a) == digest.FromBytes(b) {
		t.Fatal("manifests with different ids share a digest")
	}
	if img.configDesc.Digest != digest.FromBytes(img.config) || img.layerDesc.Size != int64(len(img.layer)) {
		t.Fatal("descriptors do not match the blobs")
	}
}

func TestPercentilesAndMedian(t *testing.T) {
	var d []time.Duration
	for i := 100; i >= 1; i-- {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	l := percentiles(d)
	if l.P50 != 50 || l.P99 != 99 || l.Max != 100 {
		t.Fatalf("percentiles = %+v", l)
	}
	if m := stats.Median([]float64{3, 1, 2}); m != 2 {
		t.Fatalf("median odd = %v", m)
	}
	if m := stats.Median([]float64{4, 1, 2, 3}); m != 2.5 {
		t.Fatalf("median even = %v", m)
	}
}

func TestWithQueryKeepsOpaqueState(t *testing.T) {
	u, _ := http.NewRequest(http.MethodGet, "http://h/v2/r/blobs/uploads/x?_state=a%2Bb%3D", nil)
	got := withQuery(u.URL, "digest", "sha256:00")
	if want := "http://h/v2/r/blobs/uploads/x?_state=a%2Bb%3D&digest=sha256%3A00"; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}
