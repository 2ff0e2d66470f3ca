package storagetest

import (
	"bytes"
	"testing"

	"github.com/berthreg/berth/storage"
)

// sessionChunk runs one chunk of a session: it opens a writer on state,
// checks its Size, writes data and saves, returning the new state.
func sessionChunk(t *testing.T, s storage.Sessioner, p string, state []byte, held int64, data []byte) []byte {
	t.Helper()
	w, err := s.SessionWriter(t.Context(), p, state)
	if err != nil {
		t.Fatalf("SessionWriter(%q) holding %d bytes: %v", p, held, err)
	}
	defer w.Close()
	if got := w.Size(); got != held {
		t.Fatalf("SessionWriter.Size() = %d when the session holds %d bytes", got, held)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatalf("SessionWriter.Write(%d bytes): %v", len(data), err)
	}
	if got := w.Size(); got != held+int64(len(data)) {
		t.Fatalf("SessionWriter.Size() = %d after writing %d bytes to %d", got, len(data), held)
	}
	next, err := w.Save(t.Context())
	if err != nil {
		t.Fatalf("Save after %d bytes: %v", held+int64(len(data)), err)
	}
	if _, err := w.Write([]byte("x")); err == nil {
		t.Fatal("Write after Save succeeded")
	}
	return next
}

// testSessions checks storage.Sessioner when the driver implements it:
// chunks of every size relative to SessionChunkSize, a writer closed
// without saving, retried completion, abort, the empty session, a bad state,
// and that nothing shows at the path before completion.
func testSessions(t *testing.T, d storage.Driver) {
	s, ok := d.(storage.Sessioner)
	if !ok {
		t.Skip("driver does not implement storage.Sessioner")
	}
	ctx := t.Context()
	cs := int(s.SessionChunkSize())
	if cs <= 0 {
		t.Fatalf("SessionChunkSize() = %d", cs)
	}
	sizes := []int{1, 100, cs / 2, cs + 3, 1, 2*cs + 5, 7, cs - 1, cs, 0, 3}
	const p = "sess/data"
	var state []byte
	var want []byte
	for i, n := range sizes {
		data := pseudoRandom(uint64(40+i), n)
		state = sessionChunk(t, s, p, state, int64(len(want)), data)
		want = append(want, data...)
		if i == 4 {
			// A writer closed without Save leaves the session as it was,
			// even after writing more than a chunk.
			w, err := s.SessionWriter(ctx, p, state)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(bytes.Repeat([]byte("junk"), cs/4+10)); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatalf("Close without Save: %v", err)
			}
		}
	}
	wantGone(t, d, p)
	if err := s.CompleteSession(ctx, p, state); err != nil {
		t.Fatalf("CompleteSession: %v", err)
	}
	wantContent(t, d, p, want)
	// A caller that failed after completing retries.
	if err := s.CompleteSession(ctx, p, state); err != nil {
		t.Fatalf("CompleteSession retried: %v", err)
	}
	wantContent(t, d, p, want)

	// Completion replaces an existing object; abort leaves it alone.
	put(t, d, "sess/other", []byte("old"))
	st := sessionChunk(t, s, "sess/other", nil, 0, pseudoRandom(60, cs+1))
	st = sessionChunk(t, s, "sess/other", st, int64(cs+1), []byte("tail"))
	if err := s.AbortSession(ctx, "sess/other", st); err != nil {
		t.Fatalf("AbortSession: %v", err)
	}
	wantContent(t, d, "sess/other", []byte("old"))
	fresh := sessionChunk(t, s, "sess/other", nil, 0, []byte("new"))
	if err := s.CompleteSession(ctx, "sess/other", fresh); err != nil {
		t.Fatalf("CompleteSession over an object: %v", err)
	}
	wantContent(t, d, "sess/other", []byte("new"))

	// A session that received nothing completes to an empty object.
	if err := s.AbortSession(ctx, "sess/empty", nil); err != nil {
		t.Fatalf("AbortSession of a nil state: %v", err)
	}
	if err := s.CompleteSession(ctx, "sess/empty", nil); err != nil {
		t.Fatalf("CompleteSession of a nil state: %v", err)
	}
	wantContent(t, d, "sess/empty", nil)

	// A damaged state is an error, not a panic or a wrong object.
	bad := append([]byte{}, state...)
	bad = bad[:len(bad)/2]
	if err := s.CompleteSession(ctx, "sess/bad", bad); err == nil {
		if got := get(t, d, "sess/bad", 0); len(got) == len(want) {
			t.Fatal("CompleteSession accepted a truncated state and stored a full object")
		}
	}
	if _, err := s.SessionWriter(ctx, "sess/bad", []byte{}); err == nil {
		t.Error("SessionWriter accepted an empty (non-nil) state")
	}
	if _, err := s.SessionWriter(ctx, "../x", nil); err == nil {
		t.Error("SessionWriter accepted an invalid path")
	}
}
