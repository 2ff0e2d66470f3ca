package metatest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/berthreg/berth/meta"
)

// testUploads checks the upload sessions: round trip of every field,
// replacing, Delete, and List's order and paging.
func testUploads(t *testing.T, s meta.Store) {
	u := meta.Upload{
		ID:          "0193f2a4-7c1e-7d2b-9a5f-1c2d3e4f5a6b",
		Repository:  "not/yet/created", // sessions are registry-wide
		Offset:      5 << 20,
		HashState:   []byte{0x73, 0x68, 0x61, 0x03, 0x00, 0xff, 0x80, 0x7f},
		DriverState: []byte(`{"uploadId":"abc","parts":[1,2]}`),
		StartedAt:   at(0),
		UpdatedAt:   at(30),
	}
	update(t, s, func(tx meta.Tx) error {
		wantNotFound(t, "Get before Put", func() error { _, err := tx.Uploads().Get(u.ID); return err }())
		return tx.Uploads().Put(u)
	})
	view(t, s, func(tx meta.Tx) error {
		got, err := tx.Uploads().Get(u.ID)
		check(t, "Get", err)
		wantUpload(t, "round trip", got, u)
		return nil
	})
	moved := u
	moved.Offset += 1 << 20
	moved.HashState = []byte{1, 2, 3}
	moved.DriverState = nil
	moved.UpdatedAt = at(90)
	update(t, s, func(tx meta.Tx) error { return tx.Uploads().Put(moved) })
	view(t, s, func(tx meta.Tx) error {
		got, err := tx.Uploads().Get(u.ID)
		check(t, "Get", err)
		wantUpload(t, "replaced session", got, moved)
		return nil
	})

	var ids []string
	byID := map[string]meta.Upload{u.ID: moved}
	for i := range 12 {
		id := fmt.Sprintf("id-%d", i)
		ids = append(ids, id)
		byID[id] = meta.Upload{ID: id, Repository: "r", Offset: int64(i), StartedAt: at(i), UpdatedAt: at(i + 1)}
	}
	update(t, s, func(tx meta.Tx) error {
		for _, id := range shuffled(ids) {
			check(t, "Put", tx.Uploads().Put(byID[id]))
		}
		return nil
	})
	want := append(slices.Clone(ids), u.ID)
	slices.Sort(want)
	view(t, s, func(tx meta.Tx) error {
		list := func(after string, limit int) []string {
			t.Helper()
			us, err := tx.Uploads().List(after, limit)
			check(t, "Uploads.List", err)
			out := make([]string, len(us))
			for i, got := range us {
				wantUpload(t, "listed session", got, byID[got.ID])
				out[i] = got.ID
			}
			return out
		}
		wantStrings(t, "List(\"\", 0)", list("", 0), want)
		wantStrings(t, "List(\"\", 2)", list("", 2), want[:2])
		wantStrings(t, "List(id-1, 3)", list("id-1", 3), []string{"id-10", "id-11", "id-2"})
		for _, limit := range []int{1, 5, 13} {
			wantStrings(t, "paged sessions", pageAll(t, "uploads", limit, list), want)
		}
		return nil
	})
	update(t, s, func(tx meta.Tx) error {
		check(t, "Delete", tx.Uploads().Delete(u.ID))
		wantNotFound(t, "Delete twice", tx.Uploads().Delete(u.ID))
		return nil
	})
	view(t, s, func(tx meta.Tx) error {
		wantNotFound(t, "Get after Delete", func() error { _, err := tx.Uploads().Get(u.ID); return err }())
		us, err := tx.Uploads().List("", 0)
		check(t, "List", err)
		if len(us) != len(ids) || slices.ContainsFunc(us, func(x meta.Upload) bool { return x.ID == u.ID }) {
			t.Errorf("List after Delete: %d sessions (want %d, without %s)", len(us), len(ids), u.ID)
		}
		return nil
	})
}
