package objectstore

import (
	"bytes"
	"reflect"
	"testing"
)

func TestStateRoundTrip(t *testing.T) {
	for _, s := range []sessionState{
		{},
		{tail: []byte("abc")},
		{id: "upload-1", parts: []Part{{1, `"e1"`, 5 << 20}, {2, `"e2"`, 8 << 20}}, tail: []byte{0, 1, 2}},
		{id: "u", parts: []Part{{1, "", 1}}},
	} {
		got, err := decodeState(s.encode(), 10000)
		if err != nil {
			t.Fatalf("decode(encode(%+v)): %v", s, err)
		}
		if got.id != s.id || !reflect.DeepEqual(got.parts, s.parts) || !bytes.Equal(got.tail, s.tail) {
			t.Fatalf("round trip of %+v gave %+v", s, got)
		}
		if got.size() != s.size() {
			t.Fatalf("size %d, want %d", got.size(), s.size())
		}
	}
	if s, err := decodeState(nil, 10); err != nil || s.id != "" || s.size() != 0 {
		t.Fatalf("decode(nil) = %+v, %v", s, err)
	}
}

func TestStateRejects(t *testing.T) {
	good := sessionState{id: "u", parts: []Part{{1, "e", 5}, {2, "f", 6}}, tail: []byte("t")}.encode()
	bad := map[string][]byte{
		"empty":            {},
		"version":          append([]byte{9}, good[1:]...),
		"truncated":        good[:len(good)-1],
		"trailing":         append(append([]byte{}, good...), 0),
		"parts without id": sessionState{parts: []Part{{1, "e", 5}}}.encode(),
		"id without parts": sessionState{id: "u"}.encode(),
		"part numbers":     sessionState{id: "u", parts: []Part{{2, "e", 5}}}.encode(),
		"empty part":       sessionState{id: "u", parts: []Part{{1, "e", 0}}}.encode(),
	}
	for name, b := range bad {
		if _, err := decodeState(b, 10000); err == nil {
			t.Errorf("%s: decoded %x", name, b)
		}
	}
	if _, err := decodeState(good, 1); err == nil {
		t.Error("decoded more parts than the limit")
	}
}

// FuzzDecodeState feeds arbitrary bytes to the session state decoder: it
// must never panic, and whatever it accepts must encode back to the input.
func FuzzDecodeState(f *testing.F) {
	f.Add(sessionState{id: "u", parts: []Part{{1, "e", 5}}, tail: []byte("t")}.encode())
	f.Add(sessionState{tail: []byte("abc")}.encode())
	f.Add([]byte{1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := decodeState(b, 10000)
		if err != nil {
			return
		}
		if again := s.encode(); !bytes.Equal(again, b) {
			t.Fatalf("accepted %x but re-encodes as %x", b, again)
		}
	})
}
