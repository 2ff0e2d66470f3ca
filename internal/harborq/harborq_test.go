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
