package bolt

import (
	"strings"

	"github.com/opencontainers/go-digest"
	bbolt "go.etcd.io/bbolt"
)

// listDigests returns up to limit (limit <= 0: all) of the digests keyed in
// b in the whole-key compact form whose string sorts after "after", in
// lexical order of the digest strings.
//
// Keys put literals before canonical digests (see digests.go), so it walks
// two cursors, one over the literals and one over the canonical digests,
// each seeked to the first digest after "after", and merges them. The cost
// is two seeks and the page, whatever "after" is: a cursor taken from the
// previous page or any other string.
func listDigests(b *bbolt.Bucket, after string, limit int) ([]digest.Digest, error) {
	lit := b.Cursor()
	lk, _ := lit.Seek(append([]byte{algLiteral}, after...))
	if lk != nil && lk[0] == algLiteral && string(lk[1:]) == after {
		lk, _ = lit.Next()
	}
	if lk != nil && lk[0] != algLiteral {
		lk = nil
	}
	can := b.Cursor()
	ck, _ := can.Seek(canonicalSeek(after))
	var cd digest.Digest
	var err error
	if ck != nil {
		if cd, err = parseDigestKey(ck); err != nil {
			return nil, err
		}
	}
	var out []digest.Digest
	for (lk != nil || ck != nil) && (limit <= 0 || len(out) < limit) {
		if lk != nil && (ck == nil || string(lk[1:]) < string(cd)) {
			out = append(out, digest.Digest(lk[1:]))
			if lk, _ = lit.Next(); lk != nil && lk[0] != algLiteral {
				lk = nil
			}
			continue
		}
		out = append(out, cd)
		if ck, _ = can.Next(); ck != nil {
			if cd, err = parseDigestKey(ck); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// canonicalSeek returns the key at which the canonical digests sorting
// after the string "after" begin in a bucket of whole-key compact digests:
// every canonical digest keyed at or after it sorts after "after", every
// one before it does not.
func canonicalSeek(after string) []byte {
	for c := algSHA256; c <= algSHA512; c++ {
		prefix, n := knownAlgs[c].prefix, 2*knownAlgs[c].size
		if !strings.HasPrefix(after, prefix) {
			if after < prefix {
				return []byte{c} // before every digest of c
			}
			continue // after every digest of c
		}
		if h, ok := nextHex(after[len(prefix):], n); ok {
			return appendRaw([]byte{c}, h)
		}
	}
	return []byte{algSHA512 + 1} // after every canonical digest
}

// nextHex returns the smallest string of n lowercase hex digits that sorts
// after r, or false if there is none.
func nextHex(r string, n int) (string, bool) {
	i := 0
	for i < n && i < len(r) && isLowerHex(r[i:i+1]) {
		i++
	}
	switch {
	case i == n: // r starts with n hex digits; anything after them only adds
		return incHex(r[:n], n)
	case i == len(r): // r is a shorter hex string: r followed by zeros
		return r + strings.Repeat("0", n-i), true
	case r[i] < '0':
		return r[:i] + "0" + strings.Repeat("0", n-i-1), true
	case r[i] > '9' && r[i] < 'a':
		return r[:i] + "a" + strings.Repeat("0", n-i-1), true
	default: // r[i] > 'f': no digit at i fits, carry into r[:i]
		return incHex(r[:i], n)
	}
}

// incHex returns the smallest string of n lowercase hex digits that sorts
// after every string starting with the hex string s, or false if there is
// none (s is all 'f').
func incHex(s string, n int) (string, bool) {
	for j := len(s) - 1; j >= 0; j-- {
		if s[j] != 'f' {
			next := strings.IndexByte(lowerHex, s[j]) + 1
			return s[:j] + lowerHex[next:next+1] + strings.Repeat("0", n-j-1), true
		}
	}
	return "", false
}
