package bolt_test

import (
	"testing"

	bbolt "go.etcd.io/bbolt"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/bolt"
)

// TestWebhookPoliciesRekeyed: a store whose webhook policies an earlier
// build kept in a bucket of their own, keyed by name alone, opens with
// them in the record space under their project-scoped keys, unchanged.
func TestWebhookPoliciesRekeyed(t *testing.T) {
	s, path := open(t)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(btx *bbolt.Tx) error {
		b, err := btx.CreateBucketIfNotExists([]byte("webhookPolicies"))
		if err != nil {
			return err
		}
		if err := b.Put([]byte("deploy"), []byte(`{"name":"deploy","project":"team","eventTypes":["PUSH_ARTIFACT"]}`)); err != nil {
			return err
		}
		return b.Put([]byte("audit"), []byte(`{"name":"audit","eventTypes":["PUSH_ARTIFACT"]}`))
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = bolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.View(t.Context(), func(tx meta.Tx) error {
		all, err := tx.Records("webhookPolicies").List("", 0)
		if err != nil {
			return err
		}
		if len(all) != 2 || all[0].Key != "audit" || all[1].Key != "team/deploy" ||
			string(all[1].Value) != `{"name":"deploy","project":"team","eventTypes":["PUSH_ARTIFACT"]}` {
			t.Errorf("policies after open: %q", all)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
