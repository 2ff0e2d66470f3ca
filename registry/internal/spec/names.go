package spec

import (
	_ "crypto/sha256" // registers sha256 for go-digest
	_ "crypto/sha512" // registers sha512 for go-digest
	"fmt"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/registry/naming"
)

// MaxNameLength is the longest repository name accepted.
const MaxNameLength = naming.MaxRepositoryLength

// ValidateName reports whether name is a valid repository name per the
// distribution specification.
func ValidateName(name string) error { return naming.CheckRepository(name) }

// ValidateTag reports whether tag is a valid tag.
func ValidateTag(tag string) error { return naming.CheckTag(tag) }

// Reference is a parsed manifest reference: exactly one of Tag or Digest is set.
type Reference struct {
	Tag    string
	Digest digest.Digest
}

// String returns the tag or the digest.
func (r Reference) String() string {
	if r.Digest != "" {
		return r.Digest.String()
	}
	return r.Tag
}

// ParseReference parses a manifest reference: a digest if it contains ':',
// else a tag. Digests must use an available algorithm (sha256, sha512) and
// well-formed hex.
func ParseReference(ref string) (Reference, error) {
	for i := 0; i < len(ref); i++ {
		if ref[i] == ':' {
			d, err := ParseDigest(ref)
			if err != nil {
				return Reference{}, err
			}
			return Reference{Digest: d}, nil
		}
	}
	if err := ValidateTag(ref); err != nil {
		return Reference{}, err
	}
	return Reference{Tag: ref}, nil
}

// ParseDigest parses and validates a digest whose algorithm this registry
// can compute.
func ParseDigest(s string) (digest.Digest, error) {
	d, err := digest.Parse(s)
	if err != nil {
		return "", fmt.Errorf("digest %q is not valid: %w", s, err)
	}
	if !d.Algorithm().Available() {
		return "", fmt.Errorf("digest algorithm %q is not supported", d.Algorithm())
	}
	return d, nil
}
