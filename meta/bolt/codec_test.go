package bolt

import (
	"bytes"
	_ "crypto/sha256" // digest.SHA256
	_ "crypto/sha512" // digest.SHA512
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/meta"
)

// norm strips what the encoding does not keep from t: the monotonic clock
// reading and the location (decoded times are UTC).
func norm(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.Round(0).UTC()
}

// normManifest applies norm to m's time, so that reflect.DeepEqual compares
// what must round-trip.
func normManifest(m meta.Manifest) meta.Manifest {
	m.PushedAt = norm(m.PushedAt)
	return m
}

// normUpload applies norm to u's times.
func normUpload(u meta.Upload) meta.Upload {
	u.StartedAt, u.UpdatedAt = norm(u.StartedAt), norm(u.UpdatedAt)
	return u
}

// sha256Of and sha512Of return canonical digests of s.
func sha256Of(s string) digest.Digest { return digest.SHA256.FromString(s) }
func sha512Of(s string) digest.Digest { return digest.SHA512.FromString(s) }

// roundTripManifest encodes and decodes m, failing the test on any error or
// difference.
func roundTripManifest(t *testing.T, m meta.Manifest) []byte {
	t.Helper()
	b, err := encodeManifest(m)
	if err != nil {
		t.Fatalf("encode %+v: %v", m, err)
	}
	got, err := decodeManifest(m.Digest, b)
	if err != nil {
		t.Fatalf("decode %+v: %v", m, err)
	}
	if want := normManifest(m); !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip:\n got %#v\nwant %#v", got, want)
	}
	return b
}

func TestManifestRoundTrip(t *testing.T) {
	zone := time.FixedZone("UTC+2", 2*60*60)
	full := meta.Manifest{
		Digest:       sha256Of("full"),
		MediaType:    "application/vnd.oci.image.manifest.v1+json",
		ArtifactType: "application/vnd.example.sbom+json", // not interned
		Size:         1234,
		Subject:      sha512Of("subject"),
		Config:       meta.Descriptor{MediaType: "application/vnd.oci.empty.v1+json", Digest: sha256Of("cfg"), Size: 2},
		Layers: []meta.Descriptor{
			{MediaType: "application/vnd.oci.image.layer.v1.tar+gzip", Digest: sha256Of("l1"), Size: 1 << 40},
			{MediaType: "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", Digest: "sha384:" + digest.Digest(strings.Repeat("ab", 48)), Size: 0},
			{Digest: sha256Of("l3"), Size: -1},
			{MediaType: "", Digest: "", Size: math.MaxInt64},
			{MediaType: "text/plain; charset=ünï", Digest: "SHA256:NOT-HEX", Size: math.MinInt64},
		},
		Manifests: []meta.Descriptor{
			{MediaType: "application/vnd.oci.image.index.v1+json", Digest: sha256Of("child"), Size: 22},
		},
		Annotations: map[string]string{
			"org.opencontainers.image.created": "2025-03-14T15:09:26Z",
			"":                                 "",
			"unicode ✓":                        "line1\nline2\x00\xff",
		},
		PushedAt: time.Date(2025, 3, 14, 15, 9, 26, 535897123, zone),
	}
	cases := map[string]meta.Manifest{
		"full":           full,
		"zero":           {},
		"digest only":    {Digest: sha256Of("bare")},
		"literal digest": {Digest: "blake3:" + digest.Digest(strings.Repeat("0", 64)), MediaType: "x"},
		"epoch":          {Digest: sha256Of("epoch"), PushedAt: time.Unix(0, 0)},
		"before epoch":   {Digest: sha256Of("old"), PushedAt: time.Date(1700, 1, 1, 0, 0, 0, 1, time.UTC)},
		"config without media type": {
			Digest: sha256Of("c"), Config: meta.Descriptor{Size: 1},
		},
	}
	for name, m := range cases {
		t.Run(name, func(t *testing.T) { roundTripManifest(t, m) })
	}
}

func TestZeroTimeRoundTrips(t *testing.T) {
	b, err := encodeManifest(meta.Manifest{Digest: sha256Of("m")})
	if err != nil {
		t.Fatal(err)
	}
	m, err := decodeManifest(sha256Of("m"), b)
	if err != nil || !m.PushedAt.IsZero() {
		t.Fatalf("zero PushedAt decoded as %v (IsZero %v), %v", m.PushedAt, m.PushedAt.IsZero(), err)
	}
	ub, err := encodeUpload(meta.Upload{ID: "u", StartedAt: time.Unix(0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	u, err := decodeUpload("u", ub)
	if err != nil || u.UpdatedAt != (time.Time{}) || !u.StartedAt.Equal(time.Unix(0, 0)) || u.StartedAt.IsZero() {
		t.Fatalf("upload times: %v / %v, %v", u.StartedAt, u.UpdatedAt, err)
	}
}

func TestTimeOutOfRangeRefused(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		if _, err := encodeBlob(meta.Blob{Digest: sha256Of("b"), CreatedAt: tm}); err == nil {
			t.Errorf("encoded %v, which UnixNano cannot represent", tm)
		}
	}
}

func TestEmptyCollectionsDecodeAsNil(t *testing.T) {
	m := meta.Manifest{Digest: sha256Of("m"), Layers: []meta.Descriptor{}, Manifests: []meta.Descriptor{}, Annotations: map[string]string{}}
	b, err := encodeManifest(m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeManifest(m.Digest, b)
	if err != nil || got.Layers != nil || got.Manifests != nil || got.Annotations != nil {
		t.Errorf("empty collections: %#v, %v; want nil", got, err)
	}
	ub, err := encodeUpload(meta.Upload{ID: "u", HashState: []byte{}, DriverState: []byte{}})
	if err != nil {
		t.Fatal(err)
	}
	u, err := decodeUpload("u", ub)
	if err != nil || u.HashState != nil || u.DriverState != nil {
		t.Errorf("empty byte slices: %#v, %v; want nil", u, err)
	}
}

func TestOtherRecordsRoundTrip(t *testing.T) {
	at := time.Date(2025, 3, 14, 15, 9, 26, 535897000, time.FixedZone("x", -3600))
	for _, r := range []meta.Repository{{Name: "lib/app", CreatedAt: at}, {Name: "x"}} {
		b, err := encodeRepository(r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeRepository(r.Name, b)
		if r.CreatedAt = norm(r.CreatedAt); err != nil || got != r {
			t.Errorf("repository: got %+v, %v; want %+v", got, err, r)
		}
	}
	for _, bl := range []meta.Blob{{Digest: sha256Of("b"), Size: 1 << 33, CreatedAt: at}, {Digest: "weird"}} {
		b, err := encodeBlob(bl)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeBlob(bl.Digest, b)
		if bl.CreatedAt = norm(bl.CreatedAt); err != nil || got != bl {
			t.Errorf("blob: got %+v, %v; want %+v", got, err, bl)
		}
	}
	for _, u := range []meta.Upload{
		{ID: "0193f2a4", Repository: "not/yet/created", Offset: 5 << 20, HashState: []byte{0x73, 0, 0xff}, DriverState: []byte(`{"parts":[1]}`), StartedAt: at, UpdatedAt: at.Add(time.Second)},
		{ID: "u"},
	} {
		b, err := encodeUpload(u)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeUpload(u.ID, b)
		if err != nil || !reflect.DeepEqual(got, normUpload(u)) {
			t.Errorf("upload: got %+v, %v; want %+v", got, err, u)
		}
	}
}

func TestDecodeCopiesOutOfTheInput(t *testing.T) {
	u := meta.Upload{ID: "u", Repository: "r", HashState: []byte{1, 2, 3}, DriverState: []byte{4}}
	b, err := encodeUpload(u)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeUpload("u", b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = 0xee // bbolt reuses the memory after the transaction
	}
	if got.Repository != "r" || !bytes.Equal(got.HashState, []byte{1, 2, 3}) || !bytes.Equal(got.DriverState, []byte{4}) {
		t.Errorf("decoded upload changed with its input: %+v", got)
	}
}

func TestDecodeRejectsCorruptInput(t *testing.T) {
	m := meta.Manifest{
		Digest: sha256Of("m"), MediaType: "application/vnd.oci.image.manifest.v1+json", Size: 300,
		Subject: sha256Of("s"), Config: meta.Descriptor{MediaType: "x/y", Digest: sha512Of("c"), Size: 3},
		Layers:      []meta.Descriptor{{Digest: "lit", Size: 1}},
		Annotations: map[string]string{"k": "v"}, PushedAt: time.Unix(1700000000, 0),
	}
	good, err := encodeManifest(m)
	if err != nil {
		t.Fatal(err)
	}
	// Every truncation fails, none panics.
	for n := range len(good) {
		if _, err := decodeManifest(m.Digest, good[:n]); !errors.Is(err, errCorrupt) {
			t.Errorf("decoding the first %d of %d bytes: %v, want errCorrupt", n, len(good), err)
		}
	}
	mutate := func(f func([]byte) []byte) []byte { return f(bytes.Clone(good)) }
	bad := map[string][]byte{
		"trailing byte":   append(bytes.Clone(good), 0),
		"version 0":       mutate(func(b []byte) []byte { b[0] = 0; return b }),
		"version 2":       mutate(func(b []byte) []byte { b[0] = 2; return b }),
		"unknown flag":    mutate(func(b []byte) []byte { b[1] |= 0x80; return b }),
		"media type code": mutate(func(b []byte) []byte { b[2] = 0xfe; return b }),
		"huge count":      append([]byte{recordVersion, mfLayers, 1, 1, 0}, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f),
		"overlong varint": append([]byte{recordVersion, 0, 1, 1}, bytes.Repeat([]byte{0xff}, 11)...),
		"digest code":     {recordVersion, mfSubject, 1, 1, 0, 9},
		"short sha256":    {recordVersion, mfSubject, 1, 1, 0, algSHA256, 1, 2},
		"string too long": {recordVersion, 0, mtLiteral, 5, 'a'},
		"empty":           {},
	}
	for name, b := range bad {
		if _, err := decodeManifest(m.Digest, b); !errors.Is(err, errCorrupt) {
			t.Errorf("%s: %v, want errCorrupt", name, err)
		}
	}
	for _, b := range [][]byte{{}, {recordVersion}, {recordVersion, 0x02}, {recordVersion, 0, 0, 0, 0, 0}} {
		if _, err := decodeRepository("r", b); !errors.Is(err, errCorrupt) {
			t.Errorf("repository %x: %v, want errCorrupt", b, err)
		}
		if _, err := decodeBlob("d", b); !errors.Is(err, errCorrupt) {
			t.Errorf("blob %x: %v, want errCorrupt", b, err)
		}
		if _, err := decodeUpload("u", b); !errors.Is(err, errCorrupt) {
			t.Errorf("upload %x: %v, want errCorrupt", b, err)
		}
	}
}

// randomRecords generates records with every field drawn at random,
// including literal digests and media types, extreme integers and empty
// strings.
type randomRecords struct{ r *rand.Rand }

func (g randomRecords) str() string {
	const alphabet = "abc/:+.-_Z09\x00\xff✓"
	n := g.r.IntN(12)
	var sb strings.Builder
	for range n {
		sb.WriteByte(alphabet[g.r.IntN(len(alphabet))])
	}
	return sb.String()
}

func (g randomRecords) digest() digest.Digest {
	switch g.r.IntN(6) {
	case 0:
		return sha512Of(g.str())
	case 1:
		return digest.Digest(g.str())
	case 2:
		return ""
	default:
		return sha256Of(g.str())
	}
}

func (g randomRecords) mediaType() string {
	if g.r.IntN(4) == 0 {
		return g.str()
	}
	return mediaTypeTable[1+g.r.IntN(len(mediaTypeTable)-1)]
}

func (g randomRecords) int() int64 {
	switch g.r.IntN(4) {
	case 0:
		return g.r.Int64() - g.r.Int64()
	case 1:
		return []int64{0, -1, math.MinInt64, math.MaxInt64}[g.r.IntN(4)]
	default:
		return g.r.Int64N(1 << 32)
	}
}

func (g randomRecords) time() time.Time {
	if g.r.IntN(4) == 0 {
		return time.Time{}
	}
	return time.Unix(0, g.r.Int64()-g.r.Int64()).UTC()
}

func (g randomRecords) bytes() []byte {
	if g.r.IntN(3) == 0 {
		return nil
	}
	return []byte(g.str() + "x")
}

func (g randomRecords) descriptors() []meta.Descriptor {
	n := g.r.IntN(4)
	if n == 0 {
		return nil
	}
	ds := make([]meta.Descriptor, n)
	for i := range ds {
		ds[i] = meta.Descriptor{MediaType: g.mediaType(), Digest: g.digest(), Size: g.int()}
	}
	return ds
}

func (g randomRecords) manifest() meta.Manifest {
	m := meta.Manifest{
		Digest: g.digest(), MediaType: g.mediaType(), ArtifactType: g.mediaType(), Size: g.int(),
		Layers: g.descriptors(), Manifests: g.descriptors(), PushedAt: g.time(),
	}
	if g.r.IntN(2) == 0 {
		m.Subject = g.digest()
	}
	if g.r.IntN(2) == 0 {
		m.Config = meta.Descriptor{MediaType: g.mediaType(), Digest: g.digest(), Size: g.int()}
	}
	if n := g.r.IntN(4); n > 0 {
		m.Annotations = map[string]string{}
		for range n {
			m.Annotations[g.str()] = g.str()
		}
	}
	return m
}

func TestRandomRecordsRoundTrip(t *testing.T) {
	g := randomRecords{rand.New(rand.NewPCG(1, 2))}
	for range 5000 {
		m := g.manifest()
		if m.Digest != "" {
			roundTripManifest(t, m)
		}
		u := meta.Upload{ID: g.str(), Repository: g.str(), Offset: g.int(), HashState: g.bytes(), DriverState: g.bytes(), StartedAt: g.time(), UpdatedAt: g.time()}
		b, err := encodeUpload(u)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := decodeUpload(u.ID, b); err != nil || !reflect.DeepEqual(got, u) {
			t.Fatalf("upload round trip: got %#v, %v; want %#v", got, err, u)
		}
		bl := meta.Blob{Digest: g.digest(), Size: g.int(), CreatedAt: g.time()}
		if b, err = encodeBlob(bl); err != nil {
			t.Fatal(err)
		}
		if got, err := decodeBlob(bl.Digest, b); err != nil || got != bl {
			t.Fatalf("blob round trip: got %#v, %v; want %#v", got, err, bl)
		}
	}
}

// fuzzSeeds returns valid encodings to start the decoding fuzzers from.
func fuzzSeeds(encode func(g randomRecords) ([]byte, error)) [][]byte {
	g := randomRecords{rand.New(rand.NewPCG(3, 4))}
	var out [][]byte
	for range 8 {
		b, err := encode(g)
		if err != nil {
			panic(err)
		}
		out = append(out, b)
	}
	return out
}

// FuzzDecodeManifest decodes arbitrary bytes: no panic, and whatever
// decodes re-encodes to something that decodes to the same record.
func FuzzDecodeManifest(f *testing.F) {
	for _, b := range fuzzSeeds(func(g randomRecords) ([]byte, error) { return encodeManifest(g.manifest()) }) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d := sha256Of("fuzz")
		m, err := decodeManifest(d, b)
		if err != nil {
			if !errors.Is(err, errCorrupt) {
				t.Fatalf("error %v does not wrap errCorrupt", err)
			}
			return
		}
		b2, err := encodeManifest(m)
		if err != nil {
			t.Fatalf("re-encode %#v: %v", m, err)
		}
		m2, err := decodeManifest(d, b2)
		if err != nil || !reflect.DeepEqual(m, m2) {
			t.Fatalf("re-decode: got %#v, %v; want %#v", m2, err, m)
		}
	})
}

// FuzzDecodeUpload is FuzzDecodeManifest for upload records.
func FuzzDecodeUpload(f *testing.F) {
	for _, b := range fuzzSeeds(func(g randomRecords) ([]byte, error) {
		return encodeUpload(meta.Upload{Repository: g.str(), Offset: g.int(), HashState: g.bytes(), DriverState: g.bytes(), StartedAt: g.time(), UpdatedAt: g.time()})
	}) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		u, err := decodeUpload("id", b)
		if err != nil {
			if !errors.Is(err, errCorrupt) {
				t.Fatalf("error %v does not wrap errCorrupt", err)
			}
			return
		}
		b2, err := encodeUpload(u)
		if err != nil {
			t.Fatalf("re-encode %#v: %v", u, err)
		}
		u2, err := decodeUpload("id", b2)
		if err != nil || !reflect.DeepEqual(u, u2) {
			t.Fatalf("re-decode: got %#v, %v; want %#v", u2, err, u)
		}
	})
}

// FuzzDecodeBlob is FuzzDecodeManifest for blob and repository records.
func FuzzDecodeBlob(f *testing.F) {
	for _, b := range fuzzSeeds(func(g randomRecords) ([]byte, error) {
		return encodeBlob(meta.Blob{Size: g.int(), CreatedAt: g.time()})
	}) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if bl, err := decodeBlob("d", b); err == nil {
			b2, err := encodeBlob(bl)
			if err != nil {
				t.Fatalf("re-encode %#v: %v", bl, err)
			}
			if bl2, err := decodeBlob("d", b2); err != nil || bl2 != bl {
				t.Fatalf("re-decode: got %#v, %v; want %#v", bl2, err, bl)
			}
		} else if !errors.Is(err, errCorrupt) {
			t.Fatalf("error %v does not wrap errCorrupt", err)
		}
		if r, err := decodeRepository("r", b); err == nil {
			b2, err := encodeRepository(r)
			if err != nil {
				t.Fatalf("re-encode %#v: %v", r, err)
			}
			if r2, err := decodeRepository("r", b2); err != nil || r2 != r {
				t.Fatalf("re-decode: got %#v, %v; want %#v", r2, err, r)
			}
		} else if !errors.Is(err, errCorrupt) {
			t.Fatalf("error %v does not wrap errCorrupt", err)
		}
	})
}

// TestEncodedSizeVersusJSON logs the size of a typical image manifest
// record, against the JSON encoding it replaces.
func TestEncodedSizeVersusJSON(t *testing.T) {
	m := meta.Manifest{
		Digest:    sha256Of("m"),
		MediaType: "application/vnd.oci.image.manifest.v1+json",
		Size:      1000,
		Config:    meta.Descriptor{MediaType: "application/vnd.oci.image.config.v1+json", Digest: sha256Of("c"), Size: 1500},
		Annotations: map[string]string{
			"org.opencontainers.image.created": "2025-01-01T00:00:00Z",
		},
		PushedAt: time.Unix(1735689600, 0),
	}
	for i := range 3 {
		m.Layers = append(m.Layers, meta.Descriptor{MediaType: "application/vnd.oci.image.layer.v1.tar+gzip", Digest: sha256Of(fmt.Sprint(i)), Size: 30 << 20})
	}
	b := roundTripManifest(t, m)
	js, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("image manifest with config, 3 layers, 1 annotation: %d bytes + %d-byte key (JSON: %d bytes + %d-byte key)",
		len(b), len(digestKey(m.Digest)), len(js), len(m.Digest))
	if len(b) > len(js)/3 {
		t.Errorf("compact record of %d bytes is not a third of the JSON's %d", len(b), len(js))
	}
}
