package bolt

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

func TestDigestForms(t *testing.T) {
	h64, h128 := strings.Repeat("0f", 32), strings.Repeat("a9", 64)
	cases := []struct {
		d        digest.Digest
		code     byte
		keyBytes int
	}{
		{digest.Digest("sha256:" + h64), algSHA256, 33},
		{digest.Digest("sha512:" + h128), algSHA512, 65},
		{digest.Digest("sha256:" + strings.ToUpper(h64)), algLiteral, 72},         // upper case is not canonical
		{digest.Digest("sha256:" + h64[:62]), algLiteral, 70},                     // short
		{digest.Digest("sha256:" + h64 + "00"), algLiteral, 74},                   // long
		{digest.Digest("sha512:" + h64), algLiteral, 72},                          // sha256 length
		{digest.Digest("sha384:" + h128[:96]), algLiteral, 104},                   // no code of its own
		{digest.Digest("SHA256:" + h64), algLiteral, 72},                          // algorithm case
		{digest.Digest("sha256:" + h64[:63] + "g"), algLiteral, 72},               // not hex
		{digest.Digest("sha256+b64u:" + strings.Repeat("A", 43)), algLiteral, 56}, // other encodings
		{"", algLiteral, 1},
	}
	for _, c := range cases {
		k := digestKey(c.d)
		if k[0] != c.code || len(k) != c.keyBytes {
			t.Errorf("%q: key code %d, %d bytes; want %d, %d", c.d, k[0], len(k), c.code, c.keyBytes)
		}
		if got, err := parseDigestKey(k); err != nil || got != c.d {
			t.Errorf("%q: key decodes as %q, %v", c.d, got, err)
		}
		p := digestPrefix(c.d)
		r := reader{b: append(p, "tail"...)}
		if got := r.digest(); r.err != nil || got != c.d || string(r.b) != "tail" {
			t.Errorf("%q: prefix form decodes as %q (rest %q), %v", c.d, got, r.b, r.err)
		}
	}
}

// TestDigestKeyOrderIsLexical checks that the byte order of whole-key
// compact digests is the lexical order of canonical sha256 and sha512
// digests and of literals of algorithms sorting before "sha256".
func TestDigestKeyOrderIsLexical(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	var ds []digest.Digest
	for i := range 300 {
		ds = append(ds, sha256Of(fmt.Sprint(i)), sha512Of(fmt.Sprint(i)))
		raw := make([]byte, 32)
		for j := range raw {
			raw[j] = byte(r.IntN(3)) * 0x7f // many shared prefixes, 0x00 and 0xfe bytes
		}
		ds = append(ds, formatDigest(algSHA256, raw), formatDigest(algSHA512, append(raw, raw...)))
		ds = append(ds, digest.Digest(fmt.Sprintf("blake3:%x", raw)), digest.Digest(fmt.Sprintf("md5:%x", raw[:16])))
	}
	for range 20000 {
		a, b := ds[r.IntN(len(ds))], ds[r.IntN(len(ds))]
		if got, want := bytes.Compare(digestKey(a), digestKey(b)), strings.Compare(string(a), string(b)); got != want {
			t.Fatalf("key order of %s and %s is %d, string order %d", a, b, got, want)
		}
	}
}

// TestDigestPrefixIsPrefixFree checks that no digest's prefix form starts
// another digest's composite keys.
func TestDigestPrefixIsPrefixFree(t *testing.T) {
	ds := []digest.Digest{"", "a", "ab", "abc", "a\x00", "\x00", sha256Of("x"), sha512Of("x"), "sha256:", digest.Digest(string(digestPrefix(sha256Of("x"))))}
	for _, a := range ds {
		for _, b := range ds {
			if a != b && bytes.HasPrefix(indexKey(b, []byte("tag")), digestPrefix(a)) {
				t.Errorf("composite key of %q starts with the prefix of %q", b, a)
			}
		}
	}
}

func TestTagsOfSortsBytewise(t *testing.T) {
	tags := []string{"b", "a", "a\x00", "a-1", "", "\xff", "A"}
	var keys [][]byte
	for _, tag := range tags {
		keys = append(keys, indexKey("lit", []byte(tag)))
	}
	slices.SortFunc(keys, bytes.Compare)
	slices.Sort(tags)
	for i, k := range keys {
		if got := string(k[len(digestPrefix("lit")):]); got != tags[i] {
			t.Errorf("position %d: %q, want %q", i, got, tags[i])
		}
	}
}

// FuzzDigestForms checks that any string round-trips exactly through both
// compact forms, that the prefix form is self-delimiting, and that whole
// keys of canonical digests order like their strings.
func FuzzDigestForms(f *testing.F) {
	f.Add(string(sha256Of("a")), string(sha512Of("b")))
	f.Add("sha256:"+strings.Repeat("A", 64), "")
	f.Add("blake3:00", "sha256:")
	f.Fuzz(func(t *testing.T, a, b string) {
		for _, s := range []string{a, b} {
			d := digest.Digest(s)
			if got, err := parseDigestKey(digestKey(d)); err != nil || got != d {
				t.Fatalf("key of %q decodes as %q, %v", s, got, err)
			}
			r := reader{b: append(digestPrefix(d), b...)}
			if got := r.digest(); r.err != nil || got != d || string(r.b) != b {
				t.Fatalf("prefix form of %q decodes as %q with %q left, %v", s, got, r.b, r.err)
			}
		}
		ca, _ := classifyDigest(a)
		cb, _ := classifyDigest(b)
		if ca != algLiteral && cb != algLiteral {
			if got, want := bytes.Compare(digestKey(digest.Digest(a)), digestKey(digest.Digest(b))), strings.Compare(a, b); got != want {
				t.Fatalf("key order of %q and %q is %d, string order %d", a, b, got, want)
			}
		}
	})
}

// FuzzParseDigestKey decodes arbitrary keys: no panic, and what decodes
// encodes back to the same key unless it was a literal that looks
// canonical (which the encoder never writes).
func FuzzParseDigestKey(f *testing.F) {
	f.Add(digestKey(sha256Of("a")))
	f.Add([]byte{algSHA512, 1, 2})
	f.Add([]byte{7})
	f.Fuzz(func(t *testing.T, k []byte) {
		d, err := parseDigestKey(k)
		if err != nil {
			return
		}
		if c, _ := classifyDigest(string(d)); c != algLiteral && k[0] == algLiteral {
			return
		}
		if !bytes.Equal(digestKey(d), k) {
			t.Fatalf("key %x decodes as %q, which encodes as %x", k, d, digestKey(d))
		}
	})
}
