package meta_test

import (
	"reflect"
	"testing"

	"github.com/berthreg/berth/meta"
)

// TestTxStaysSmall fails when meta.Tx grows past the registry's typed core
// plus the record space: a feature keeps its records with
// meta.RecordType in its own package, and adds no method here, so that a
// backend (bbolt, PostgreSQL, a host's own) implements the seam once.
func TestTxStaysSmall(t *testing.T) {
	tx := reflect.TypeFor[meta.Tx]()
	if n := tx.NumMethod(); n > 10 {
		var names []string
		for i := range n {
			names = append(names, tx.Method(i).Name)
		}
		t.Errorf("meta.Tx has %d methods, at most 10 allowed: %v", n, names)
	}
	for _, iface := range []reflect.Type{
		reflect.TypeFor[meta.Repositories](), reflect.TypeFor[meta.Manifests](), reflect.TypeFor[meta.Tags](),
		reflect.TypeFor[meta.Blobs](), reflect.TypeFor[meta.Uploads](), reflect.TypeFor[meta.Events](),
		reflect.TypeFor[meta.Jobs](), reflect.TypeFor[meta.Records](), reflect.TypeFor[meta.Collector](),
		reflect.TypeFor[meta.Collection](), reflect.TypeFor[meta.Claims](), reflect.TypeFor[meta.Tombstones](),
		reflect.TypeFor[meta.Porter](), reflect.TypeFor[meta.Dumper](), reflect.TypeFor[meta.Restorer](),
	} {
		if n := iface.NumMethod(); n > 8 {
			t.Errorf("meta.%s has %d methods, at most 8 allowed", iface.Name(), n)
		}
	}
}
