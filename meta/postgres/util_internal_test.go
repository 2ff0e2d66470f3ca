package postgres

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

// boundHolds reports whether lowerBound(after) is right for candidate n
// (when n is storable): n > after exactly when n >= bound.
func boundHolds(t *testing.T, after, n string) {
	t.Helper()
	if !storable(n) {
		return
	}
	bound, ok := lowerBound(after)
	if ok && !storable(bound) {
		t.Fatalf("lowerBound(%q) = %q: not storable", after, bound)
	}
	want := n > after
	got := ok && n >= bound
	if got != want {
		t.Fatalf("after %q, bound %q (ok %v): %q: got %v, want %v", after, bound, ok, n, got, want)
	}
}

// pieces are the bytes and characters the strings are made of: edges of
// UTF-8's ranges, invalid bytes, NUL.
var pieces = []string{"", "\x00", "\x01", "a", "z", "\x7f", "\x80", "\xbf", "\xc0", "\xc1", "\xc2", "\xc3", "\xc3\xa9",
	"\xdf\xbf", "\xe0", "\xe0\xa0\x80", "\xed\x9f\xbf", "\xed\xa0\x80", "\xee\x80\x80", "\xef\xbf\xbf", "\xf0",
	"\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf", "\xf4\x90\x80\x80", "\xf5", "\xff", "\U0001F600"}

func randomString(r *rand.Rand) string {
	var b strings.Builder
	for range r.IntN(4) {
		b.WriteString(pieces[r.IntN(len(pieces))])
	}
	return b.String()
}

// TestLowerBound checks lowerBound over many strings, valid or not.
func TestLowerBound(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 200_000 {
		boundHolds(t, randomString(r), randomString(r))
	}
	// Around the largest character.
	for _, after := range []string{"\U0010FFFF", "\U0010FFFF\xff", "a\U0010FFFF\xff", "\xff", ""} {
		for _, n := range []string{"\U0010FFFF", "\U0010FFFF\x01", "b", "a\U0010FFFF", "\x01"} {
			boundHolds(t, after, n)
		}
	}
	if _, ok := lowerBound("\U0010FFFF\xff"); ok {
		t.Error("lowerBound of a string above every storable one: ok")
	}
}

// FuzzLowerBound checks lowerBound on strings the fuzzer finds.
func FuzzLowerBound(f *testing.F) {
	f.Add("a\xff", "a\u00e9")
	f.Add("\xed\xa0\x80", "\uE000")
	f.Fuzz(func(t *testing.T, after, n string) {
		boundHolds(t, after, n)
		if utf8.ValidString(n) {
			boundHolds(t, after, strings.ReplaceAll(n, "\x00", ""))
		}
	})
}
