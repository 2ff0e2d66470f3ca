package bolt

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	bbolt "go.etcd.io/bbolt"
)

// TestNextHexBruteForce compares nextHex with a search over every hex
// string of length 3.
func TestNextHexBruteForce(t *testing.T) {
	const n = 3
	var all []string
	for i := range 1 << (4 * n) {
		all = append(all, fmt.Sprintf("%03x", i))
	}
	probes := []string{"", "0", "f", "ff", "fff", "ffff", "fffg", "0g", "g", "9:", "9A", "a/", "abc", "abcd", "ab\x00", "\xff", "/", "0fz"}
	r := rand.New(rand.NewPCG(7, 8))
	const alphabet = "0123456789abcdef/:AFgz\x00\xff"
	for range 3000 {
		var sb strings.Builder
		for range r.IntN(5) {
			sb.WriteByte(alphabet[r.IntN(len(alphabet))])
		}
		probes = append(probes, sb.String())
	}
	for _, p := range probes {
		want, wantOK := "", false
		if i, ok := slices.BinarySearch(all, p); ok {
			i++
			if i < len(all) {
				want, wantOK = all[i], true
			}
		} else if i < len(all) {
			want, wantOK = all[i], true
		}
		if got, ok := nextHex(p, n); got != want || ok != wantOK {
			t.Errorf("nextHex(%q): %q, %v; want %q, %v", p, got, ok, want, wantOK)
		}
	}
}

// TestListDigestsIsLexical fills a bucket with canonical and literal
// digests and checks listDigests against sorted strings for many "after"
// values and page sizes.
func TestListDigestsIsLexical(t *testing.T) {
	db, err := bbolt.Open(filepath.Join(t.TempDir(), "l.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var ds []string
	for i := range 40 {
		ds = append(ds, string(sha256Of(fmt.Sprint(i))), string(sha512Of(fmt.Sprint(i))))
	}
	h := string(sha256Of("x"))[7:]
	ds = append(ds,
		"sha384:"+strings.Repeat("3", 96), // go-digest accepts sha384; it has no code
		"sha256:"+strings.ToUpper(h),      // between sha256:9... and sha256:a...
		"sha256:"+h[:10],                  // short
		"sha512:"+h,                       // sha256 length under sha512
		"blake3:"+h,                       // before every sha
		"zzz",                             // after everything
		"sha256:", "sha", "\x00", "\xff",
	)
	err = db.Update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucket([]byte("m"))
		if err != nil {
			return err
		}
		for _, d := range ds {
			if err := b.Put(digestKey(digest.Digest(d)), nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(ds)
	afters := []string{"", "a", "sha", "sha2", "sha256", "sha256:", "sha256:0", "sha256:8", "sha256:a", "sha256:g", "sha256:A",
		"sha256:" + h, "sha256:" + h + "0", "sha256:" + h[:63] + "z", "sha3", "sha384:", "sha512:", "sha512:f", "sha513", "z", "zzzz", "\xff\xff"}
	afters = append(afters, ds...)
	for _, d := range ds {
		afters = append(afters, d[:len(d)-1], d+"\x00")
	}
	err = db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket([]byte("m"))
		list := func(after string, limit int) []string {
			t.Helper()
			got, err := listDigests(b, after, limit)
			if err != nil {
				t.Fatalf("listDigests(%q, %d): %v", after, limit, err)
			}
			out := make([]string, len(got))
			for i, d := range got {
				out[i] = string(d)
			}
			return out
		}
		for _, after := range afters {
			i, found := slices.BinarySearch(ds, after)
			if found {
				i++
			}
			for _, limit := range []int{0, 1, 3} {
				want := ds[i:]
				if limit > 0 {
					want = want[:min(limit, len(want))]
				}
				if got := list(after, limit); !slices.Equal(got, want) {
					t.Errorf("listDigests(%q, %d):\n got %q\nwant %q", after, limit, got, want)
				}
			}
		}
		for _, limit := range []int{1, 2, 7} {
			var all []string
			for after := ""; ; {
				p := list(after, limit)
				all = append(all, p...)
				if len(p) < limit {
					break
				}
				after = p[len(p)-1]
			}
			if !slices.Equal(all, ds) {
				t.Errorf("paging by %d:\n got %q\nwant %q", limit, all, ds)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
