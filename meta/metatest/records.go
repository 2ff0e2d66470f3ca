package metatest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/berthreg/berth/meta"
)

// testRecords checks the record space: round trips (empty values
// included, GetMany's too), replacing, Delete, ErrNotFound, empty keys, kinds kept apart,
// unknown kinds read as empty in a View, writes in a View refused, invalid
// kinds refused, and List's order and paging.
func testRecords(t *testing.T, s meta.Store) {
	view(t, s, func(tx meta.Tx) error {
		r := tx.Records("never.written")
		_, err := r.Get("a")
		wantNotFound(t, "Get in an unknown kind", err)
		if err := r.Delete("a"); !errors.Is(err, meta.ErrReadOnly) {
			t.Errorf("Delete in a View: %v, want meta.ErrReadOnly", err)
		}
		got, err := r.List("", 0)
		check(t, "List of an unknown kind", err)
		if len(got) != 0 {
			t.Errorf("List of an unknown kind = %v, want none", got)
		}
		if err := r.Put("a", []byte("x")); !errors.Is(err, meta.ErrReadOnly) {
			t.Errorf("Put in a View: %v, want meta.ErrReadOnly", err)
		}
		return nil
	})
	update(t, s, func(tx meta.Tx) error {
		a, b := tx.Records("kind-a"), tx.Records("kind_b.v2")
		check(t, "Put", a.Put("k1", []byte(`{"v":1}`)))
		check(t, "Put empty value", a.Put("k2", []byte{}))
		check(t, "Put other kind", b.Put("k1", []byte("other")))
		if err := a.Put("", []byte("x")); err == nil {
			t.Error("Put with an empty key succeeded")
		}
		// Read your writes, in the same transaction: an empty value too.
		if v, err := a.Get("k2"); err != nil || len(v) != 0 {
			t.Errorf("Get(k2) in its transaction = %q, %v; want an empty value", v, err)
		}
		if many, err := a.GetMany([]string{"k1", "k2"}); err != nil || len(many) != 2 {
			t.Errorf("GetMany in its transaction = %q, %v", many, err)
		}
		return nil
	})
	view(t, s, func(tx meta.Tx) error {
		a, b := tx.Records("kind-a"), tx.Records("kind_b.v2")
		if v, err := a.Get("k1"); err != nil || string(v) != `{"v":1}` {
			t.Errorf("Get(k1) = %q, %v", v, err)
		}
		if v, err := a.Get("k2"); err != nil || len(v) != 0 {
			t.Errorf("Get(k2) = %q, %v; want an empty value", v, err)
		}
		if v, err := b.Get("k1"); err != nil || string(v) != "other" {
			t.Errorf("other kind Get(k1) = %q, %v", v, err)
		}
		_, err := a.Get("")
		wantNotFound(t, "Get of the empty key", err)
		// GetMany: found keys (the empty value too), absent ones left out.
		many, err := a.GetMany([]string{"k1", "k2", "absent", "", "k1"})
		check(t, "GetMany", err)
		if len(many) != 2 || string(many["k1"]) != `{"v":1}` {
			t.Errorf("GetMany = %q, want k1 and k2", many)
		}
		if v, ok := many["k2"]; !ok || len(v) != 0 {
			t.Errorf("GetMany's k2 = %q, %v; want an empty value", v, ok)
		}
		if many, err := tx.Records("never.written").GetMany([]string{"k1"}); err != nil || len(many) != 0 {
			t.Errorf("GetMany in an unknown kind = %q, %v", many, err)
		}
		if many, err := b.GetMany(nil); err != nil || len(many) != 0 {
			t.Errorf("GetMany of no keys = %q, %v", many, err)
		}
		return nil
	})
	update(t, s, func(tx meta.Tx) error {
		// PutNew stores only what is absent, once, and says which.
		a := tx.Records("kind-a")
		stored, read, err := a.PutNew([]meta.Record{{Key: "k1", Value: []byte("no")}, {Key: "n1", Value: []byte("v1")},
			{Key: "n2", Value: []byte{}}, {Key: "n1", Value: []byte("again")}}, "k1", "n1", "absent", "")
		check(t, "PutNew", err)
		if !slices.Equal(stored, []string{"n1", "n2"}) {
			t.Errorf("PutNew stored %q, want n1 and n2", stored)
		}
		// What it reads is as it was before: n1 was absent.
		if len(read) != 1 || string(read["k1"]) != `{"v":1}` {
			t.Errorf("PutNew read %q, want k1 alone", read)
		}
		if v, err := a.Get("k1"); err != nil || string(v) != `{"v":1}` {
			t.Errorf("after PutNew, k1 = %q, %v; want it unchanged", v, err)
		}
		if v, err := a.Get("n1"); err != nil || string(v) != "v1" {
			t.Errorf("after PutNew, n1 = %q, %v; want its first value", v, err)
		}
		if _, _, err := a.PutNew([]meta.Record{{Key: "", Value: []byte("x")}}); err == nil {
			t.Error("PutNew with an empty key succeeded")
		}
		if stored, read, err := a.PutNew(nil); err != nil || len(stored) != 0 || len(read) != 0 {
			t.Errorf("PutNew of nothing = %q, %q, %v", stored, read, err)
		}
		if stored, read, err := a.PutNew(nil, "k1"); err != nil || len(stored) != 0 || string(read["k1"]) != `{"v":1}` {
			t.Errorf("PutNew of nothing, reading k1 = %q, %q, %v", stored, read, err)
		}
		check(t, "Delete n1", a.Delete("n1"))
		check(t, "Delete n2", a.Delete("n2"))
		return nil
	})
	view(t, s, func(tx meta.Tx) error {
		if _, _, err := tx.Records("kind-a").PutNew([]meta.Record{{Key: "x", Value: []byte("x")}}); !errors.Is(err, meta.ErrReadOnly) {
			t.Errorf("PutNew in a View: %v, want meta.ErrReadOnly", err)
		}
		return nil
	})
	update(t, s, func(tx meta.Tx) error {
		a := tx.Records("kind-a")
		check(t, "Put replaces", a.Put("k1", []byte("new")))
		check(t, "Delete", a.Delete("k2"))
		wantNotFound(t, "Delete twice", a.Delete("k2"))
		return nil
	})
	view(t, s, func(tx meta.Tx) error {
		got, err := tx.Records("kind-a").List("", 0)
		check(t, "List", err)
		want := []meta.Record{{Key: "k1", Value: []byte("new")}}
		if !recordsEqual(got, want) {
			t.Errorf("List = %v, want %v", got, want)
		}
		return nil
	})
	for _, bad := range []string{"", "a/b", "with space", string(bytes.Repeat([]byte("x"), 65)), "é"} {
		view(t, s, func(tx meta.Tx) error {
			if _, err := tx.Records(bad).Get("k"); !errors.Is(err, meta.ErrBadKind) {
				t.Errorf("Get in kind %q: %v, want meta.ErrBadKind", bad, err)
			}
			return nil
		})
		err := s.Update(t.Context(), func(tx meta.Tx) error { return tx.Records(bad).Put("k", []byte("x")) })
		if !errors.Is(err, meta.ErrBadKind) {
			t.Errorf("Put in kind %q: %v, want meta.ErrBadKind", bad, err)
		}
	}
	testRecordsPaging(t, s)
	testRecordsRollBack(t, s)
}

// testRecordsPaging checks List's order and paging over keys that sort
// byte-wise, prefixes included.
func testRecordsPaging(t *testing.T, s meta.Store) {
	keys := []string{"a", "a/", "a/1", "a/10", "a/2", "b", "team/x", "z"}
	update(t, s, func(tx meta.Tx) error {
		for i, k := range slices.Backward(keys) {
			check(t, "Put", tx.Records("paged").Put(k, []byte(fmt.Sprint(i))))
		}
		return nil
	})
	view(t, s, func(tx meta.Tx) error {
		var got []string
		after := ""
		for {
			page, err := tx.Records("paged").List(after, 3)
			check(t, "List page", err)
			if len(page) > 3 {
				t.Fatalf("List(%q, 3) returned %d records", after, len(page))
			}
			if len(page) == 0 {
				break
			}
			for _, r := range page {
				got = append(got, r.Key)
			}
			after = page[len(page)-1].Key
		}
		if !slices.Equal(got, keys) {
			t.Errorf("paged keys = %q, want %q", got, keys)
		}
		rest, err := tx.Records("paged").List("a/10", 2)
		check(t, "List after", err)
		if len(rest) != 2 || rest[0].Key != "a/2" || rest[1].Key != "b" {
			t.Errorf("List(a/10, 2) = %v, want a/2, b", rest)
		}
		return nil
	})
}

// testRecordsRollBack checks that a failed Update leaves no record behind,
// not even the kind it created.
func testRecordsRollBack(t *testing.T, s meta.Store) {
	boom := errors.New("boom")
	err := s.Update(t.Context(), func(tx meta.Tx) error {
		check(t, "Put", tx.Records("rolled.back").Put("k", []byte("v")))
		check(t, "Put", tx.Records("kind-a").Put("k9", []byte("v")))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update = %v, want the function's error", err)
	}
	view(t, s, func(tx meta.Tx) error {
		_, err := tx.Records("rolled.back").Get("k")
		wantNotFound(t, "record of a rolled-back kind", err)
		_, err = tx.Records("kind-a").Get("k9")
		wantNotFound(t, "rolled-back record", err)
		return nil
	})
}

func recordsEqual(a, b []meta.Record) bool {
	return slices.EqualFunc(a, b, func(x, y meta.Record) bool { return x.Key == y.Key && bytes.Equal(x.Value, y.Value) })
}

// widget is the record type testRecordTypes keeps.
type widget struct {
	Team string            `json:"team"`
	Name string            `json:"name"`
	Tags map[string]string `json:"tags,omitempty"`
}

var widgets = meta.RecordType[widget]{Kind: "widgets", Key: func(w widget) string {
	if w.Name == "" {
		return ""
	}
	return w.Team + "/" + w.Name
}}

// testRecordTypes checks the typed tables of RecordType over the backend:
// round trips, keys derived from the value, and records whose bytes do not
// decode or name another key are errors, not silent zero values.
func testRecordTypes(t *testing.T, s meta.Store) {
	w := widget{Team: "core", Name: "gear", Tags: map[string]string{"size": "m"}}
	update(t, s, func(tx meta.Tx) error {
		check(t, "Put", widgets.In(tx).Put(w))
		check(t, "Put", widgets.In(tx).Put(widget{Team: "core", Name: "axle"}))
		if err := widgets.In(tx).Put(widget{}); err == nil {
			t.Error("Put of a value with an empty key succeeded")
		}
		return nil
	})
	view(t, s, func(tx meta.Tx) error {
		got, err := widgets.In(tx).Get("core/gear")
		check(t, "Get", err)
		if got.Team != w.Team || got.Name != w.Name || got.Tags["size"] != "m" {
			t.Errorf("Get = %+v, want %+v", got, w)
		}
		_, err = widgets.In(tx).Get("core/none")
		wantNotFound(t, "Get of a missing widget", err)
		_, err = tx.Records("widgets").Get("core/none")
		wantNotFound(t, "Get of a missing widget", err)
		all, err := widgets.In(tx).List("", 0)
		check(t, "List", err)
		if len(all) != 2 || all[0].Name != "axle" || all[1].Name != "gear" {
			t.Errorf("List = %+v, want axle then gear", all)
		}
		return nil
	})
	update(t, s, func(tx meta.Tx) error {
		check(t, "Put raw", tx.Records(widgets.Kind).Put("core/bent", []byte(`{"team":"core","name":"other"}`)))
		check(t, "Put raw", tx.Records(widgets.Kind).Put("core/torn", []byte(`{"team":`)))
		return nil
	})
	view(t, s, func(tx meta.Tx) error {
		if _, err := widgets.In(tx).Get("core/bent"); err == nil {
			t.Error("Get of a record stored under another key's name succeeded")
		}
		if _, err := widgets.In(tx).Get("core/torn"); err == nil || errors.Is(err, meta.ErrNotFound) {
			t.Errorf("Get of an undecodable record: %v, want a decoding error", err)
		}
		if _, err := widgets.In(tx).List("", 0); err == nil {
			t.Error("List over undecodable records succeeded")
		}
		return nil
	})
	update(t, s, func(tx meta.Tx) error {
		check(t, "Delete", widgets.In(tx).Delete("core/gear"))
		wantNotFound(t, "Delete twice", widgets.In(tx).Delete("core/gear"))
		return nil
	})
}
