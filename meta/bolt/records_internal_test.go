package bolt

import (
	"path/filepath"
	"testing"

	bbolt "go.etcd.io/bbolt"

	"github.com/berthreg/berth/meta"
)

// TestLegacyRecordsMoved: a store whose feature records an earlier build
// kept in top-level buckets opens with them in the record space, byte for
// byte, and the old buckets gone.
func TestLegacyRecordsMoved(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meta.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	value := func(name string) []byte { return []byte(`{"name":"` + name + `-1","n":1}`) }
	if err := db.Update(func(btx *bbolt.Tx) error {
		for _, name := range legacyRecordBuckets {
			b, err := btx.CreateBucketIfNotExists([]byte(name))
			if err != nil {
				return err
			}
			if err := b.Put([]byte(name+"-1"), value(name)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.View(t.Context(), func(mt meta.Tx) error {
		for _, name := range legacyRecordBuckets {
			got, err := mt.Records(name).Get(name + "-1")
			if err != nil || string(got) != string(value(name)) {
				t.Errorf("%s after open = %q, %v; want %q", name, got, err, value(name))
			}
			if mt.(*tx).btx.Bucket([]byte(name)) != nil {
				t.Errorf("top-level bucket %s still there", name)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}
