package recordeq_test

import (
	"testing"
	"time"

	"github.com/berthreg/berth/meta/internal/recordeq"
)

type inner struct {
	At   time.Time
	Tags []string
}

type record struct {
	Name  string
	At    time.Time
	List  []inner
	Attrs map[string]string
}

func TestEqual(t *testing.T) {
	at := time.Date(2026, 12, 4, 10, 0, 0, 123456789, time.FixedZone("x", 3600))
	a := record{Name: "a", At: at, List: []inner{{At: at, Tags: []string{}}}, Attrs: map[string]string{}}
	b := record{Name: "a", At: at.UTC().Truncate(time.Microsecond), List: []inner{{At: at.UTC()}}}
	if !recordeq.Equal(a, b) {
		t.Errorf("the same record as two backends keep it compared unequal:\n%+v\n%+v", a, b)
	}
	if !a.At.Equal(at) || a.List[0].Tags == nil || a.Attrs == nil {
		t.Error("Normalize changed its argument")
	}
	for name, c := range map[string]record{
		"name":             {Name: "b", At: at, List: []inner{{At: at}}},
		"a microsecond on": {Name: "a", At: at.Add(time.Microsecond), List: []inner{{At: at}}},
		"nested time":      {Name: "a", At: at, List: []inner{{At: at.Add(time.Second)}}},
		"nested slice":     {Name: "a", At: at, List: []inner{{At: at, Tags: []string{"x"}}}},
		"map":              {Name: "a", At: at, List: []inner{{At: at}}, Attrs: map[string]string{"k": "v"}},
	} {
		if recordeq.Equal(a, c) {
			t.Errorf("%s: a different record compared equal", name)
		}
	}
	if !recordeq.Equal(nil, nil) || recordeq.Equal(nil, a) {
		t.Error("nil records")
	}
}
