package bolt

import "encoding/binary"

// mtLiteral is the media-type code of a string not in mediaTypeTable: its
// length (uvarint) and bytes follow.
const mtLiteral byte = 0

// mediaTypeTable interns the common media types in records: code i (one
// byte) stands for mediaTypeTable[i]. The codes are part of the stored
// format: never reorder or remove entries. Entries may be appended; a build
// that does not know a code refuses the record as corrupt rather than
// misreading it.
var mediaTypeTable = [...]string{
	mtLiteral: "", // escape, never matched
	1:         "", // no media type (descriptors without one, manifests without artifactType)

	// OCI image spec.
	2:  "application/vnd.oci.image.manifest.v1+json",
	3:  "application/vnd.oci.image.index.v1+json",
	4:  "application/vnd.oci.image.config.v1+json",
	5:  "application/vnd.oci.image.layer.v1.tar",
	6:  "application/vnd.oci.image.layer.v1.tar+gzip",
	7:  "application/vnd.oci.image.layer.v1.tar+zstd",
	8:  "application/vnd.oci.image.layer.nondistributable.v1.tar",
	9:  "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
	10: "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
	11: "application/vnd.oci.empty.v1+json",

	// Docker image manifest v2 schema 2.
	12: "application/vnd.docker.distribution.manifest.v2+json",
	13: "application/vnd.docker.distribution.manifest.list.v2+json",
	14: "application/vnd.docker.container.image.v1+json",
	15: "application/vnd.docker.image.rootfs.diff.tar.gzip",
	16: "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",

	// Helm charts.
	17: "application/vnd.cncf.helm.config.v1+json",
	18: "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
	19: "application/vnd.cncf.helm.chart.provenance.v1.prov",

	// Cosign signatures and attestations, Sigstore bundles.
	20: "application/vnd.dev.cosign.simplesigning.v1+json",
	21: "application/vnd.dev.cosign.artifact.sig.v1+json",
	22: "application/vnd.dsse.envelope.v1+json",
	23: "application/vnd.in-toto+json",
	24: "application/vnd.dev.sigstore.bundle+json;version=0.1",
	25: "application/vnd.dev.sigstore.bundle+json;version=0.2",
	26: "application/vnd.dev.sigstore.bundle+json;version=0.3",
	27: "application/vnd.dev.sigstore.bundle.v0.3+json",

	// Generic.
	28: "application/octet-stream",
}

// mediaTypeCodes maps each interned media type to its code.
var mediaTypeCodes = func() map[string]byte {
	m := make(map[string]byte, len(mediaTypeTable))
	for i, mt := range mediaTypeTable {
		if byte(i) != mtLiteral {
			m[mt] = byte(i)
		}
	}
	return m
}()

// appendMediaType appends mt as its table code, or as a literal.
func appendMediaType(dst []byte, mt string) []byte {
	if c, ok := mediaTypeCodes[mt]; ok {
		return append(dst, c)
	}
	dst = append(dst, mtLiteral)
	dst = binary.AppendUvarint(dst, uint64(len(mt)))
	return append(dst, mt...)
}

// mediaType reads a media type (see appendMediaType).
func (r *reader) mediaType() string {
	c := r.byte()
	switch {
	case r.err != nil:
		return ""
	case c == mtLiteral:
		return r.string()
	case int(c) < len(mediaTypeTable):
		return mediaTypeTable[c]
	default:
		r.fail("unknown media type code %d", c)
		return ""
	}
}
