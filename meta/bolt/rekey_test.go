package bolt_test

import (
	"testing"

	bbolt "go.etcd.io/bbolt"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/bolt"
)

// TestWebhookPoliciesRekeyed: a store whose webhook policies an earlier
// build keyed by name alone opens with them under their project-scoped
// keys, and reads them as before.
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
		b := btx.Bucket([]byte("webhookPolicies"))
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
		all, err := tx.WebhookPolicies().List("", 0)
		if err != nil {
			return err
		}
		if len(all) != 2 || all[0].Name != "audit" || all[1].Key() != "team/deploy" {
			t.Errorf("policies after open: %+v", all)
		}
		_, err = tx.WebhookPolicies().Get(meta.WebhookPolicyKey("team", "deploy"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
}
