package naming

import (
	_ "crypto/sha256" // the digests AttachmentSubject accepts do not depend
	_ "crypto/sha512" // on what else a program links
	"strings"

	"github.com/opencontainers/go-digest"
)

// ProjectOf returns the project of a repository: the first path segment of
// its name ("team" for "team/app/web"; the whole name when it has no "/").
func ProjectOf(repository string) string {
	p, _, _ := strings.Cut(repository, "/")
	return p
}

// attachmentKinds are the suffixes of cosign's tag-named attachments:
// signatures, attestations and SBOMs.
var attachmentKinds = [...]string{"sig", "att", "sbom"}

// AttachmentTags are the tags under which cosign (without the referrers
// API) stores the signatures, attestations and SBOMs of manifest d:
// "<alg>-<hex>.sig", ".att" and ".sbom".
func AttachmentTags(d digest.Digest) []string {
	alg, hex, _ := strings.Cut(string(d), ":")
	base := alg + "-" + hex
	tags := make([]string, len(attachmentKinds))
	for i, k := range attachmentKinds {
		tags[i] = base + "." + k
	}
	return tags
}

// AttachmentSubject reads the subject of a tag AttachmentTags makes: the
// manifest whose signature, attestation or SBOM it names. ok is false for
// any other tag, including one whose digest is not valid.
func AttachmentSubject(tag string) (subject digest.Digest, ok bool) {
	base, kind, ok := strings.Cut(tag, ".")
	if !ok || !isAttachmentKind(kind) {
		return "", false
	}
	alg, hex, ok := strings.Cut(base, "-")
	if !ok {
		return "", false
	}
	d := digest.NewDigestFromEncoded(digest.Algorithm(alg), hex)
	return d, d.Validate() == nil
}

// IsAttachmentTag reports a tag AttachmentTags makes (see AttachmentSubject).
func IsAttachmentTag(tag string) bool {
	_, ok := AttachmentSubject(tag)
	return ok
}

func isAttachmentKind(s string) bool {
	for _, k := range attachmentKinds {
		if s == k {
			return true
		}
	}
	return false
}
