package postgres

import (
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"
)

// storable reports whether s can be kept in a text column: PostgreSQL's
// text holds valid UTF-8 without NUL bytes. Names, tags, digests, kinds
// and keys that are not are refused by writes (before any statement, so
// the transaction goes on) and never found by reads.
func storable(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// checkText returns an error naming what when s cannot be stored.
func checkText(what, s string) error {
	if !storable(s) {
		return fmt.Errorf("meta/postgres: %s %q: not valid UTF-8 without NUL bytes", what, s)
	}
	return nil
}

// ts returns t as PostgreSQL keeps it: UTC, microseconds.
func ts(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// nullTS is ts(t), or NULL for the zero time.
func nullTS(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return ts(t)
}

// fromNull returns the time of a nullable column (zero for NULL), in UTC.
func fromNull(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// limitArg is the LIMIT parameter for a page of limit rows: NULL (no
// limit) for limit <= 0.
func limitArg(limit int) any {
	if limit <= 0 {
		return nil
	}
	return int64(limit)
}

// seqArg converts an event sequence number or job id to bigint; ok is
// false past bigint's range, where nothing is stored.
func seqArg(n uint64) (int64, bool) {
	if n > math.MaxInt64 {
		return 0, false
	}
	return int64(n), true
}

// bytesArg keeps an empty value from turning into NULL.
func bytesArg(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// lowerBound turns the "after" of a listing into a bound PostgreSQL can
// take: for every storable string n, n > after exactly when n >= bound.
// ok is false when no storable string sorts after "after". An "after" that
// is not storable itself (a client's paging marker can be anything) is
// thus never sent as a parameter, which would fail the transaction.
func lowerBound(after string) (bound string, ok bool) {
	i := firstUnstorable(after)
	if i < 0 {
		// The least storable string above after is after followed by the
		// least storable character.
		return after + "\x01", true
	}
	p, q := after[:i], after[i:]
	// The strings with prefix p that sort after "after" are those whose
	// next character's encoding sorts after q: q holds no valid character
	// at its start, so the comparison ends within that character.
	lo, hi := rune(1), rune(utf8.MaxRune)+1
	for lo < hi {
		mid := lo + (hi-lo)/2
		if string(encodeRune(mid)) > q {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	if lo <= utf8.MaxRune {
		if lo >= 0xD800 && lo <= 0xDFFF { // surrogates are not characters
			lo = 0xE000
		}
		return p + string(lo), true
	}
	// Nothing with prefix p sorts after it: the bound is the least string
	// above every string with prefix p.
	for p != "" {
		r, size := utf8.DecodeLastRuneInString(p)
		p = p[:len(p)-size]
		if r < utf8.MaxRune {
			r++
			if r == 0xD800 {
				r = 0xE000
			}
			return p + string(r), true
		}
	}
	return "", false
}

// firstUnstorable returns the index of the first byte of s that is no
// part of a valid UTF-8 character or is NUL, or -1.
func firstUnstorable(s string) int {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == 0 || (r == utf8.RuneError && size == 1) {
			return i
		}
		i += size
	}
	return -1
}

// encodeRune is UTF-8's encoding of r, surrogates included (which
// utf8.AppendRune replaces), so that encodings sort as code points do.
func encodeRune(r rune) []byte {
	switch {
	case r < 0x80:
		return []byte{byte(r)}
	case r < 0x800:
		return []byte{0xC0 | byte(r>>6), 0x80 | byte(r)&0x3F}
	case r < 0x10000:
		return []byte{0xE0 | byte(r>>12), 0x80 | byte(r>>6)&0x3F, 0x80 | byte(r)&0x3F}
	}
	return []byte{0xF0 | byte(r>>18), 0x80 | byte(r>>12)&0x3F, 0x80 | byte(r>>6)&0x3F, 0x80 | byte(r)&0x3F}
}
