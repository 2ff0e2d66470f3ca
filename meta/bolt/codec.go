package bolt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/meta"
)

// The binary encoding of the stored records.
//
// Every record value starts with recordVersion and a flags byte saying which
// optional fields follow; a field whose flag is clear is zero (nil for
// slices, maps and byte slices). Integers are varints (encoding/binary's
// AppendVarint, zig-zag, for int64 fields; AppendUvarint for lengths and
// counts), strings and byte slices a uvarint length and the bytes, digests
// the compact form (digests.go), media types one byte (mediatypes.go), and
// times their UnixNano as a varint (decoded in UTC; the zero time is a clear
// flag). A field that is the record's key (the manifest or blob digest, the
// repository name, the upload id) is not repeated in the value.
//
//	Repository  version flags{createdAt} [createdAt]
//	Blob        version flags{createdAt} size [createdAt]
//	Manifest    version flags{subject config layers manifests annotations pushedAt}
//	            mediaType artifactType size [subject] [config]
//	            [n layer...] [n manifest...] [n (key value)... sorted by key] [pushedAt]
//	Descriptor  mediaType digest size
//	Upload      version flags{hashState driverState startedAt updatedAt}
//	            repository offset [hashState] [driverState] [startedAt] [updatedAt]
//
// Decoding never panics: malformed input (truncated, unknown version, flag,
// algorithm or media-type code, trailing bytes, lengths beyond the input)
// returns an error wrapping errCorrupt.
const recordVersion byte = 1

// errCorrupt marks a stored value or key that cannot be decoded.
var errCorrupt = errors.New("meta/bolt: corrupt record")

// Flags of the Manifest record.
const (
	mfSubject byte = 1 << iota
	mfConfig
	mfLayers
	mfManifests
	mfAnnotations
	mfPushedAt
	mfAll = mfSubject | mfConfig | mfLayers | mfManifests | mfAnnotations | mfPushedAt
)

// Flags of the Upload record.
const (
	ufHashState byte = 1 << iota
	ufDriverState
	ufStartedAt
	ufUpdatedAt
	ufAll = ufHashState | ufDriverState | ufStartedAt | ufUpdatedAt
)

// tfCreatedAt is the only flag of the Repository and Blob records.
const tfCreatedAt byte = 1

// encodeRepository encodes r (without its name, the key).
func encodeRepository(r meta.Repository) ([]byte, error) {
	b := []byte{recordVersion, 0}
	return appendTimeField(b, tfCreatedAt, r.CreatedAt)
}

// decodeRepository decodes the record of the repository called name.
func decodeRepository(name string, data []byte) (meta.Repository, error) {
	r := reader{b: data}
	flags := r.header(tfCreatedAt)
	rec := meta.Repository{Name: name, CreatedAt: r.timeIf(flags&tfCreatedAt != 0)}
	if err := r.done(); err != nil {
		return meta.Repository{}, err
	}
	return rec, nil
}

// encodeBlob encodes b (without its digest, the key).
func encodeBlob(b meta.Blob) ([]byte, error) {
	out := []byte{recordVersion, 0}
	out = binary.AppendVarint(out, b.Size)
	return appendTimeField(out, tfCreatedAt, b.CreatedAt)
}

// decodeBlob decodes the record of blob d.
func decodeBlob(d digest.Digest, data []byte) (meta.Blob, error) {
	r := reader{b: data}
	flags := r.header(tfCreatedAt)
	rec := meta.Blob{Digest: d, Size: r.varint()}
	rec.CreatedAt = r.timeIf(flags&tfCreatedAt != 0)
	if err := r.done(); err != nil {
		return meta.Blob{}, err
	}
	return rec, nil
}

// encodeManifest encodes m (without its digest, the key).
func encodeManifest(m meta.Manifest) ([]byte, error) {
	var flags byte
	if m.Subject != "" {
		flags |= mfSubject
	}
	if m.Config != (meta.Descriptor{}) {
		flags |= mfConfig
	}
	if len(m.Layers) > 0 {
		flags |= mfLayers
	}
	if len(m.Manifests) > 0 {
		flags |= mfManifests
	}
	if len(m.Annotations) > 0 {
		flags |= mfAnnotations
	}
	b := make([]byte, 0, 64+40*(len(m.Layers)+len(m.Manifests)))
	b = append(b, recordVersion, flags)
	b = appendMediaType(b, m.MediaType)
	b = appendMediaType(b, m.ArtifactType)
	b = binary.AppendVarint(b, m.Size)
	if flags&mfSubject != 0 {
		b = appendDigest(b, m.Subject)
	}
	if flags&mfConfig != 0 {
		b = appendDescriptor(b, m.Config)
	}
	for _, ds := range [][]meta.Descriptor{m.Layers, m.Manifests} {
		if len(ds) == 0 {
			continue
		}
		b = binary.AppendUvarint(b, uint64(len(ds)))
		for _, d := range ds {
			b = appendDescriptor(b, d)
		}
	}
	if flags&mfAnnotations != 0 {
		b = binary.AppendUvarint(b, uint64(len(m.Annotations)))
		for _, k := range slices.Sorted(maps.Keys(m.Annotations)) {
			b = appendString(b, k)
			b = appendString(b, m.Annotations[k])
		}
	}
	return appendTimeField(b, mfPushedAt, m.PushedAt)
}

// decodeManifest decodes the record of manifest d.
func decodeManifest(d digest.Digest, data []byte) (meta.Manifest, error) {
	r := reader{b: data}
	flags := r.header(mfAll)
	m := meta.Manifest{Digest: d}
	m.MediaType = r.mediaType()
	m.ArtifactType = r.mediaType()
	m.Size = r.varint()
	if flags&mfSubject != 0 {
		m.Subject = r.digest()
	}
	if flags&mfConfig != 0 {
		m.Config = r.descriptor()
	}
	if flags&mfLayers != 0 {
		m.Layers = r.descriptors()
	}
	if flags&mfManifests != 0 {
		m.Manifests = r.descriptors()
	}
	if flags&mfAnnotations != 0 {
		n := r.count()
		if n > 0 {
			m.Annotations = make(map[string]string, n)
		}
		for range n {
			k := r.string()
			m.Annotations[k] = r.string()
		}
	}
	m.PushedAt = r.timeIf(flags&mfPushedAt != 0)
	if err := r.done(); err != nil {
		return meta.Manifest{}, err
	}
	return m, nil
}

// encodeUpload encodes u (without its id, the key).
func encodeUpload(u meta.Upload) ([]byte, error) {
	var flags byte
	if len(u.HashState) > 0 {
		flags |= ufHashState
	}
	if len(u.DriverState) > 0 {
		flags |= ufDriverState
	}
	b := make([]byte, 0, 32+len(u.Repository)+len(u.HashState)+len(u.DriverState))
	b = append(b, recordVersion, flags)
	b = appendString(b, u.Repository)
	b = binary.AppendVarint(b, u.Offset)
	if flags&ufHashState != 0 {
		b = appendBytes(b, u.HashState)
	}
	if flags&ufDriverState != 0 {
		b = appendBytes(b, u.DriverState)
	}
	b, err := appendTimeField(b, ufStartedAt, u.StartedAt)
	if err != nil {
		return nil, err
	}
	return appendTimeField(b, ufUpdatedAt, u.UpdatedAt)
}

// decodeUpload decodes the record of upload session id.
func decodeUpload(id string, data []byte) (meta.Upload, error) {
	r := reader{b: data}
	flags := r.header(ufAll)
	u := meta.Upload{ID: id, Repository: r.string(), Offset: r.varint()}
	if flags&ufHashState != 0 {
		u.HashState = r.bytes()
	}
	if flags&ufDriverState != 0 {
		u.DriverState = r.bytes()
	}
	u.StartedAt = r.timeIf(flags&ufStartedAt != 0)
	u.UpdatedAt = r.timeIf(flags&ufUpdatedAt != 0)
	if err := r.done(); err != nil {
		return meta.Upload{}, err
	}
	return u, nil
}

// appendDescriptor appends d: media type, compact digest, size.
func appendDescriptor(b []byte, d meta.Descriptor) []byte {
	b = appendMediaType(b, d.MediaType)
	b = appendDigest(b, d.Digest)
	return binary.AppendVarint(b, d.Size)
}

// appendString appends s with its uvarint length.
func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendBytes appends p with its uvarint length.
func appendBytes(b, p []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(p)))
	return append(b, p...)
}

// appendTimeField appends t as a UnixNano varint unless it is zero, and
// then sets flag in the record's flags byte, b[1]. Times UnixNano cannot
// represent (before 1678 or after 2262) are refused rather than stored
// wrong.
func appendTimeField(b []byte, flag byte, t time.Time) ([]byte, error) {
	if t.IsZero() {
		return b, nil
	}
	n := t.UnixNano()
	if !time.Unix(0, n).Equal(t) {
		return nil, fmt.Errorf("meta/bolt: time %s is outside the range this store can record (about 1678 to 2262)", t)
	}
	b[1] |= flag
	return binary.AppendVarint(b, n), nil
}

// reader decodes a record. The first error sticks: later reads return zero
// values, and done reports it.
type reader struct {
	b   []byte
	err error
}

// fail records a decoding error unless one is recorded already.
func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: "+format, append([]any{errCorrupt}, args...)...)
	}
	r.b = nil
}

// header reads the version and flags bytes and checks that no flag outside
// known is set.
func (r *reader) header(known byte) byte {
	v := r.byte()
	flags := r.byte()
	switch {
	case r.err != nil:
	case v != recordVersion:
		r.fail("record format version %d, want %d", v, recordVersion)
	case flags&^known != 0:
		r.fail("unknown flags %#x", flags&^known)
	}
	return flags
}

// done returns the first error, or an error if bytes are left over.
func (r *reader) done() error {
	if r.err == nil && len(r.b) > 0 {
		r.fail("%d trailing bytes", len(r.b))
	}
	return r.err
}

// byte reads one byte.
func (r *reader) byte() byte {
	if len(r.b) == 0 {
		r.fail("truncated")
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// uvarint reads an unsigned varint.
func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("bad uvarint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

// varint reads a signed varint.
func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count reads a collection length, refusing one larger than the bytes left
// (every element takes at least one), so that corrupt input cannot make
// the decoder allocate much more than its size.
func (r *reader) count() int {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail("count %d exceeds the %d bytes left", n, len(r.b))
		return 0
	}
	return int(n)
}

// take reads the next n bytes without copying.
func (r *reader) take(n int) []byte {
	if n > len(r.b) {
		r.fail("truncated: want %d bytes, have %d", n, len(r.b))
		return nil
	}
	p := r.b[:n:n]
	r.b = r.b[n:]
	return p
}

// string reads a length-prefixed string (a copy).
func (r *reader) string() string {
	return string(r.take(r.count()))
}

// bytes reads a length-prefixed byte slice, copied out of the database's
// memory; empty decodes as nil.
func (r *reader) bytes() []byte {
	p := r.take(r.count())
	if len(p) == 0 {
		return nil
	}
	return append([]byte(nil), p...)
}

// timeIf reads a UnixNano time (in UTC) if present, else returns the zero
// time.
func (r *reader) timeIf(present bool) time.Time {
	if !present {
		return time.Time{}
	}
	n := r.varint()
	if r.err != nil {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// descriptor reads a descriptor (see appendDescriptor).
func (r *reader) descriptor() meta.Descriptor {
	return meta.Descriptor{MediaType: r.mediaType(), Digest: r.digest(), Size: r.varint()}
}

// descriptors reads a counted list of descriptors; empty decodes as nil.
func (r *reader) descriptors() []meta.Descriptor {
	n := r.count()
	if n == 0 {
		return nil
	}
	ds := make([]meta.Descriptor, 0, n)
	for range n {
		ds = append(ds, r.descriptor())
	}
	if r.err != nil {
		return nil
	}
	return ds
}
