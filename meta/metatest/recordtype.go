package metatest

import (
	"errors"
	"slices"
	"testing"

	"github.com/berthreg/berth/meta"
)

// RecordType checks a feature package's record type rt over the store s,
// for the package's own tests with a real backend. full is a record with
// every field set: it must come back equal (times by instant, empty slices
// as absent), so a field that the encoding drops fails here. variant(full,
// 0) must keep full's key and change other fields; variant(full, i) for i
// from 1 to 11 must give records of distinct other keys. It also checks
// replacing, Delete, ErrNotFound, the refusal of a record without a key and
// of writes in a View, and List's order and paging.
func RecordType[T any](t *testing.T, s meta.Store, rt meta.RecordType[T], full T, variant func(v T, i int) T) {
	t.Helper()
	t.Run(rt.Kind, func(t *testing.T) {
		table, key := rt.In, rt.Key(full)
		update(t, s, func(tx meta.Tx) error {
			_, err := table(tx).Get(key)
			wantNotFound(t, "Get before Put", err)
			wantNotFound(t, "Delete before Put", table(tx).Delete(key))
			var empty T
			if err := table(tx).Put(empty); err == nil {
				t.Error("Put of a record without a key succeeded")
			}
			return table(tx).Put(full)
		})
		view(t, s, func(tx meta.Tx) error {
			got, err := table(tx).Get(key)
			check(t, "Get", err)
			if !sameRecord(got, full) {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, full)
			}
			if err := table(tx).Put(full); !errors.Is(err, meta.ErrReadOnly) {
				t.Errorf("Put in a View: %v, want ErrReadOnly", err)
			}
			return nil
		})
		replaced := variant(full, 0)
		if rt.Key(replaced) != key {
			t.Fatalf("variant(full, 0) is keyed %q, want %q", rt.Key(replaced), key)
		}
		update(t, s, func(tx meta.Tx) error { return table(tx).Put(replaced) })
		view(t, s, func(tx meta.Tx) error {
			got, err := table(tx).Get(key)
			check(t, "Get", err)
			if !sameRecord(got, replaced) {
				t.Errorf("replaced:\n got %+v\nwant %+v", got, replaced)
			}
			return nil
		})
		keys := []string{key}
		var others []T
		for i := 1; i <= 11; i++ {
			v := variant(full, i)
			if k := rt.Key(v); k == "" || slices.Contains(keys, k) {
				t.Fatalf("variant(full, %d) is keyed %q: want a new, non-empty key", i, k)
			}
			keys, others = append(keys, rt.Key(v)), append(others, v)
		}
		update(t, s, func(tx meta.Tx) error {
			for _, v := range shuffled(others) {
				check(t, "Put", table(tx).Put(v))
			}
			return nil
		})
		slices.Sort(keys)
		view(t, s, func(tx meta.Tx) error {
			list := func(after string, limit int) []string {
				t.Helper()
				vs, err := table(tx).List(after, limit)
				check(t, "List", err)
				out := make([]string, len(vs))
				for i, v := range vs {
					out[i] = rt.Key(v)
				}
				return out
			}
			wantStrings(t, "List(\"\", 0)", list("", 0), keys)
			wantStrings(t, "List(\"\", 3)", list("", 3), keys[:3])
			wantStrings(t, "List after the 5th", list(keys[4], 2), keys[5:7])
			for _, limit := range []int{1, 4, 12} {
				wantStrings(t, "paged", pageAll(t, rt.Kind, limit, list), keys)
			}
			return nil
		})
		update(t, s, func(tx meta.Tx) error { return table(tx).Delete(keys[3]) })
		view(t, s, func(tx meta.Tx) error {
			_, err := table(tx).Get(keys[3])
			wantNotFound(t, "Get after Delete", err)
			got, err := table(tx).List("", 0)
			check(t, "List", err)
			if len(got) != len(keys)-1 {
				t.Errorf("List after Delete: %d records, want %d", len(got), len(keys)-1)
			}
			return nil
		})
	})
}
