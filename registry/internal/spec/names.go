package spec

import (
	_ "crypto/sha256" // registers sha256 for go-digest
	_ "crypto/sha512" // registers sha512 for go-digest
	"fmt"
	"regexp"

	"github.com/opencontainers/go-digest"
)

// MaxNameLength is the longest repository name accepted.
const MaxNameLength = 255

var (
	nameComponent = `[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*`
	nameRE        = regexp.MustCompile(`^` + nameComponent + `(?:/` + nameComponent + `)*$`)
	tagRE         = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)
)

// ValidateName reports whether name is a valid repository name per the
// distribution specification.
func ValidateName(name string) error {
	if len(name) == 0 || len(name) > MaxNameLength {
		return fmt.Errorf("repository name must be 1 to %d characters", MaxNameLength)
	}
	if !nameRE.MatchString(name) {
		return fmt.Errorf("repository name %q is not valid", name)
	}
	return nil
}

// ValidateTag reports whether tag is a valid tag.
func ValidateTag(tag string) error {
	if !tagRE.MatchString(tag) {
		return fmt.Errorf("tag %q is not valid", tag)
	}
	return nil
}

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
