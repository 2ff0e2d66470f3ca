package bolt

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/opencontainers/go-digest"
)

// The compact digest form, used in record values and in keys.
//
// A digest is one algorithm code byte followed by:
//
//	algSHA256 (1)    the 32 raw (hex-decoded) bytes
//	algSHA512 (2)    the 64 raw bytes
//	algLiteral (0)   the digest string as given
//
// Only canonical digests get codes 1 and 2: the algorithm prefix and exactly
// the right number of lowercase hex digits. Everything else (other
// algorithms such as sha384 or blake3, upper-case or malformed hex, the empty
// string) is a literal, so every string round-trips exactly.
//
// A literal comes in two shapes. Inside a record and as the first half of a
// composite key it carries its length (uvarint), which makes the form
// prefix-free: no encoded digest is a prefix of another digest's encoding
// followed by anything, so a composite key's first half can be matched by
// prefix and its second half needs no separator. Where the digest is the
// whole key (manifests, blob links, registry-wide blobs, the second half of
// a referrers key) the literal has no length, so that literals sort by their
// string.
//
// # Key order
//
// In the whole-key shape, bytes.Compare order is: all literals, in string
// order; then all canonical sha256 digests, in string order (raw-byte order
// of the digests of one algorithm equals the order of their lowercase hex);
// then all canonical sha512 digests, in string order. The codes were chosen
// so that sha256 (1) < sha512 (2) as "sha256" < "sha512": over canonical
// digests, which is all a registry stores, key order is lexical order. Only
// literals whose string sorts after "sha256:" (sha384, non-canonical hex)
// are out of place; listings merge the literal and canonical ranges (see
// listDigests) so that they are in lexical order all the same.
const (
	algLiteral byte = 0
	algSHA256  byte = 1
	algSHA512  byte = 2
)

// knownAlgs describes the algorithms with a code of their own: the digest's
// prefix up to and including ':' and the length of the raw digest.
var knownAlgs = [...]struct {
	prefix string
	size   int
}{
	algSHA256: {"sha256:", 32},
	algSHA512: {"sha512:", 64},
}

// lowerHex is the alphabet of canonical digest hex.
const lowerHex = "0123456789abcdef"

// classifyDigest returns the code of d and, for a canonical digest, its hex
// part; a literal returns algLiteral and "".
func classifyDigest(d string) (code byte, hexPart string) {
	for c := algSHA256; c <= algSHA512; c++ {
		a := knownAlgs[c]
		if len(d) == len(a.prefix)+2*a.size && strings.HasPrefix(d, a.prefix) && isLowerHex(d[len(a.prefix):]) {
			return c, d[len(a.prefix):]
		}
	}
	return algLiteral, ""
}

// isLowerHex reports whether s consists of lowercase hex digits only.
func isLowerHex(s string) bool {
	for i := range len(s) {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// appendRaw appends the raw bytes of the canonical hex string h.
func appendRaw(dst []byte, h string) []byte {
	for i := 0; i < len(h); i += 2 {
		dst = append(dst, unhex(h[i])<<4|unhex(h[i+1]))
	}
	return dst
}

// unhex returns the value of the lowercase hex digit c.
func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c - 'a' + 10
}

// formatDigest returns the canonical digest string of code c and raw bytes.
func formatDigest(c byte, raw []byte) digest.Digest {
	var sb strings.Builder
	sb.Grow(len(knownAlgs[c].prefix) + 2*len(raw))
	sb.WriteString(knownAlgs[c].prefix)
	for _, b := range raw {
		sb.WriteByte(lowerHex[b>>4])
		sb.WriteByte(lowerHex[b&0xf])
	}
	return digest.Digest(sb.String())
}

// appendDigest appends the prefix-free compact form of d (literals carry
// their length), as used in records and as the first half of composite
// keys.
func appendDigest(dst []byte, d digest.Digest) []byte {
	c, h := classifyDigest(string(d))
	dst = append(dst, c)
	if c != algLiteral {
		return appendRaw(dst, h)
	}
	dst = binary.AppendUvarint(dst, uint64(len(d)))
	return append(dst, d...)
}

// appendDigestKey appends the whole-key compact form of d (literals without
// their length), as used for keys that are just a digest.
func appendDigestKey(dst []byte, d digest.Digest) []byte {
	c, h := classifyDigest(string(d))
	dst = append(dst, c)
	if c != algLiteral {
		return appendRaw(dst, h)
	}
	return append(dst, d...)
}

// digestKey returns the whole-key compact form of d.
func digestKey(d digest.Digest) []byte {
	return appendDigestKey(make([]byte, 0, 1+64), d)
}

// parseDigestKey decodes a whole-key compact digest (see appendDigestKey).
// It copies: the result stays valid after the transaction.
func parseDigestKey(k []byte) (digest.Digest, error) {
	if len(k) == 0 {
		return "", fmt.Errorf("%w: empty digest key", errCorrupt)
	}
	c, rest := k[0], k[1:]
	switch {
	case c == algLiteral:
		return digest.Digest(rest), nil
	case int(c) < len(knownAlgs):
		if len(rest) != knownAlgs[c].size {
			return "", fmt.Errorf("%w: %s digest key of %d bytes", errCorrupt, strings.TrimSuffix(knownAlgs[c].prefix, ":"), len(rest))
		}
		return formatDigest(c, rest), nil
	default:
		return "", fmt.Errorf("%w: unknown digest algorithm code %d", errCorrupt, c)
	}
}

// digest reads a prefix-free compact digest (see appendDigest).
func (r *reader) digest() digest.Digest {
	c := r.byte()
	switch {
	case r.err != nil:
		return ""
	case c == algLiteral:
		return digest.Digest(r.string())
	case int(c) < len(knownAlgs):
		raw := r.take(knownAlgs[c].size)
		if r.err != nil {
			return ""
		}
		return formatDigest(c, raw)
	default:
		r.fail("unknown digest algorithm code %d", c)
		return ""
	}
}

// digestPrefix returns the prefix-free compact form of d, the first half of
// the composite keys of d.
func digestPrefix(d digest.Digest) []byte {
	return appendDigest(make([]byte, 0, 1+64), d)
}
