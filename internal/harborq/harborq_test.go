package harborq

import "testing"

func TestQuery(t *testing.T) {
	item := map[string]string{"name": "to-dc2", "type": "berth"}
	get := func(k string) string { return item[k] }
	for q, want := range map[string]bool{
		"": true, "name=to-dc2": true, "name=~dc": true, "name=~dc,type=berth": true,
		"name=to": false, "name=~dc3": false, "name=~dc,type=harbor": false, ",,name=to-dc2,": true,
	} {
		got, err := Parse(q, "name", "type")
		if err != nil {
			t.Fatalf("Parse(%q): %v", q, err)
		}
		if got.Match(get) != want {
			t.Errorf("%q matches %v, want %v", q, !want, want)
		}
	}
	for _, bad := range []string{"name", "other=x", "name=x,size=1", "=x"} {
		if _, err := Parse(bad, "name", "type"); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
	if q, _ := Parse("", "name"); !q.Empty() {
		t.Error("an empty q is not Empty")
	}
}

func TestConds(t *testing.T) {
	q, err := Parse("tags=~v1,push_time=[2024-01-01~],media_type={a b},name=x,labels=(1 2)", "tags", "push_time", "media_type", "name", "labels")
	if err != nil {
		t.Fatal(err)
	}
	got := q.Conds()
	want := []Cond{{Key: "tags", Kind: Fuzzy, Value: "v1"}, {Key: "push_time", Kind: Range, Min: "2024-01-01"},
		{Key: "media_type", Kind: AnyOf, Values: []string{"a", "b"}}, {Key: "name", Kind: Exact, Value: "x"},
		{Key: "labels", Kind: AllOf, Values: []string{"1", "2"}}}
	if len(got) != len(want) {
		t.Fatalf("conds %+v", got)
	}
	for i := range want {
		if got[i].Key != want[i].Key || got[i].Kind != want[i].Kind || got[i].Value != want[i].Value ||
			got[i].Min != want[i].Min || got[i].Max != want[i].Max || len(got[i].Values) != len(want[i].Values) {
			t.Errorf("cond %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	item := map[string]string{"media_type": "b", "push_time": "2024-05-01", "tags": "v1.2", "name": "x", "labels": "1"}
	if q.Match(func(k string) string { return item[k] }) {
		t.Error("one value matches an intersection of two")
	}
	q, _ = Parse("tags=~v1,push_time=[2024-01-01~],media_type={a b},name=x", "tags", "push_time", "media_type", "name")
	if !q.Match(func(k string) string { return item[k] }) {
		t.Error("the item does not match")
	}
	item["media_type"] = "c"
	if q.Match(func(k string) string { return item[k] }) {
		t.Error("a value outside the set matches")
	}
	for _, bad := range []string{"push_time=[2024", "push_time=[2024]"} {
		if _, err := Parse(bad, "push_time"); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

// FuzzParse checks that no q makes Parse, Conds or Match panic, and that
// an accepted q's conditions name only the allowed keys.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "name=x", "tags=~v", "push_time=[a~b]", "labels=(1 2)", "x={", "a=[~]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := Parse(s, "name", "tags", "push_time", "labels")
		if err != nil {
			return
		}
		for _, c := range q.Conds() {
			switch c.Key {
			case "name", "tags", "push_time", "labels":
			default:
				t.Fatalf("condition on %q accepted", c.Key)
			}
		}
		q.Match(func(string) string { return s })
	})
}
