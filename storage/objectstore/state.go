package objectstore

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// stateVersion is the first byte of an encoded session state.
const stateVersion = 1

// sessionState is what a storage.SessionWriter's Save returns: the
// multipart upload and its parts, plus the tail below MinPartSize that no
// part holds yet. The tail lives in the state, not in the bucket, so tiny
// chunks are never uploaded twice nor read back.
type sessionState struct {
	id    string
	parts []Part
	tail  []byte
}

// size is the number of bytes the session holds.
func (s sessionState) size() int64 {
	n := int64(len(s.tail))
	for _, p := range s.parts {
		n += p.Size
	}
	return n
}

// encode renders s: version, id, parts (number, ETag, size each), tail; the
// strings and the tail length-prefixed, the numbers as uvarints.
func (s sessionState) encode() []byte {
	b := make([]byte, 0, 16+len(s.id)+len(s.tail)+len(s.parts)*48)
	b = append(b, stateVersion)
	b = binary.AppendUvarint(b, uint64(len(s.id)))
	b = append(b, s.id...)
	b = binary.AppendUvarint(b, uint64(len(s.parts)))
	for _, p := range s.parts {
		b = binary.AppendUvarint(b, uint64(p.Number))
		b = binary.AppendUvarint(b, uint64(len(p.ETag)))
		b = append(b, p.ETag...)
		b = binary.AppendUvarint(b, uint64(p.Size))
	}
	b = binary.AppendUvarint(b, uint64(len(s.tail)))
	return append(b, s.tail...)
}

var errBadState = errors.New("malformed session state")

// stateReader decodes the fields of an encoded state, remembering the
// first error.
type stateReader struct {
	b   []byte
	err error
}

func (r *stateReader) uvarint(limit uint64) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	// Only the shortest encoding is accepted, so a state has one form.
	if n <= 0 || v > limit || n != len(binary.AppendUvarint(nil, v)) {
		r.err = errBadState
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *stateReader) bytes() []byte {
	n := r.uvarint(1 << 40)
	if r.err == nil && n > uint64(len(r.b)) {
		r.err = errBadState
	}
	if r.err != nil {
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

// decodeState parses an encoded state; nil is the empty state of a new
// session. Part numbers must ascend from 1 within maxParts, and parts must
// not be empty.
func decodeState(b []byte, maxParts int) (sessionState, error) {
	var s sessionState
	if b == nil {
		return s, nil
	}
	if len(b) == 0 || b[0] != stateVersion {
		return s, errBadState
	}
	r := &stateReader{b: b[1:]}
	s.id = string(r.bytes())
	n := r.uvarint(uint64(maxParts))
	if r.err == nil && n > 0 {
		s.parts = make([]Part, 0, n)
	}
	for i := range n {
		num := r.uvarint(uint64(maxParts))
		etag := string(r.bytes())
		size := r.uvarint(1 << 62)
		if r.err == nil && (num != i+1 || size == 0) {
			r.err = errBadState
		}
		if r.err != nil {
			break
		}
		s.parts = append(s.parts, Part{Number: int32(num), ETag: etag, Size: int64(size)})
	}
	s.tail = r.bytes()
	if r.err != nil {
		return sessionState{}, r.err
	}
	if len(r.b) != 0 || (s.id == "") != (len(s.parts) == 0) {
		return sessionState{}, fmt.Errorf("%w: %d trailing bytes or parts without an upload id", errBadState, len(r.b))
	}
	return s, nil
}
