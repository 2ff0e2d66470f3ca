package bolt_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	bbolt "go.etcd.io/bbolt"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/bolt"
	"github.com/berthreg/berth/meta/metatest"
)

// open opens a store in a fresh temporary directory.
func open(t testing.TB, opts ...bolt.Option) (*bolt.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "meta.db")
	s, err := bolt.Open(path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s, path
}

func TestConformance(t *testing.T) {
	metatest.Run(t, func(t *testing.T) meta.Store {
		s, _ := open(t, bolt.NoSync())
		return s
	})
}

func TestReopenSeesCommittedData(t *testing.T) {
	s, path := open(t) // durable: fsync on commit
	ctx := t.Context()
	m := meta.Manifest{Digest: digest.FromString("m"), MediaType: "application/vnd.oci.image.manifest.v1+json", Size: 9, PushedAt: time.Unix(1700000000, 123000).UTC()}
	err := s.Update(ctx, func(tx meta.Tx) error {
		if _, _, err := tx.Repositories().Ensure("lib/app"); err != nil {
			return err
		}
		if err := tx.Manifests().Put("lib/app", m); err != nil {
			return err
		}
		if err := tx.Tags().Put("lib/app", "latest", m.Digest); err != nil {
			return err
		}
		return tx.Uploads().Put(meta.Upload{ID: "u1", Repository: "lib/app", Offset: 42})
	})
	if err != nil {
		t.Fatal(err)
	}
	// A rolled-back Update must not reappear either.
	errAbort := errors.New("abort")
	if err := s.Update(ctx, func(tx meta.Tx) error {
		if _, _, err := tx.Repositories().Ensure("rolled/back"); err != nil {
			return err
		}
		return errAbort
	}); !errors.Is(err, errAbort) {
		t.Fatalf("Update: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = bolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.View(ctx, func(tx meta.Tx) error {
		d, err := tx.Tags().Get("lib/app", "latest")
		if err != nil || d != m.Digest {
			t.Errorf("tag after reopen: %s, %v", d, err)
		}
		got, err := tx.Manifests().Get("lib/app", m.Digest)
		if err != nil || got.Size != m.Size || !got.PushedAt.Equal(m.PushedAt) {
			t.Errorf("manifest after reopen: %+v, %v", got, err)
		}
		u, err := tx.Uploads().Get("u1")
		if err != nil || u.Offset != 42 {
			t.Errorf("upload after reopen: %+v, %v", u, err)
		}
		names, err := tx.Repositories().List("", 0)
		if err != nil || len(names) != 1 || names[0] != "lib/app" {
			t.Errorf("repositories after reopen: %q, %v", names, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestViewsRejectUseAfterTransaction(t *testing.T) {
	s, _ := open(t, bolt.NoSync())
	defer s.Close()
	var leaked meta.Tx
	if err := s.Update(t.Context(), func(tx meta.Tx) error {
		leaked = tx
		_, _, err := tx.Repositories().Ensure("r")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := leaked.Repositories().Get("r"); !errors.Is(err, bolt.ErrTxDone) {
		t.Errorf("Get after Update returned: %v, want ErrTxDone", err)
	}
	if err := leaked.Uploads().Put(meta.Upload{ID: "x"}); !errors.Is(err, bolt.ErrTxDone) {
		t.Errorf("Put after Update returned: %v, want ErrTxDone", err)
	}
	if err := s.View(t.Context(), func(tx meta.Tx) error { leaked = tx; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := leaked.Tags().List("r", "", 0); !errors.Is(err, bolt.ErrTxDone) {
		t.Errorf("List after View returned: %v, want ErrTxDone", err)
	}
}

func TestClosedStore(t *testing.T) {
	s, _ := open(t, bolt.NoSync())
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ran := false
	fn := func(meta.Tx) error { ran = true; return nil }
	if err := s.View(t.Context(), fn); !errors.Is(err, bolt.ErrClosed) {
		t.Errorf("View after Close: %v, want ErrClosed", err)
	}
	if err := s.Update(t.Context(), fn); !errors.Is(err, bolt.ErrClosed) {
		t.Errorf("Update after Close: %v, want ErrClosed", err)
	}
	if ran {
		t.Error("fn ran on a closed store")
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestOpenLockedFile(t *testing.T) {
	s, path := open(t, bolt.NoSync())
	defer s.Close()
	start := time.Now()
	s2, err := bolt.Open(path, bolt.Timeout(100*time.Millisecond))
	if !errors.Is(err, bolt.ErrLocked) {
		if s2 != nil {
			s2.Close()
		}
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("second Open took %v despite a 100ms timeout", d)
	}
}

func TestUpdateGivesUpWaitingWhenCtxDone(t *testing.T) {
	s, _ := open(t, bolt.NoSync())
	defer s.Close()
	holding, release := make(chan struct{}), make(chan struct{})
	done := make(chan error)
	go func() {
		done <- s.Update(context.Background(), func(meta.Tx) error {
			close(holding)
			<-release
			return nil
		})
	}()
	<-holding
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	ran := false
	err := s.Update(ctx, func(meta.Tx) error { ran = true; return nil })
	if !errors.Is(err, context.DeadlineExceeded) || ran {
		t.Errorf("queued Update: err %v, ran %v; want DeadlineExceeded without running", err, ran)
	}
	// Readers are not blocked by the writer.
	if err := s.View(t.Context(), func(meta.Tx) error { return nil }); err != nil {
		t.Errorf("View during an Update: %v", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestPanicRollsBack(t *testing.T) {
	s, _ := open(t, bolt.NoSync())
	defer s.Close()
	func() {
		defer func() {
			if recover() == nil {
				t.Error("panic did not propagate")
			}
		}()
		_ = s.Update(t.Context(), func(tx meta.Tx) error {
			if _, _, err := tx.Repositories().Ensure("r"); err != nil {
				return err
			}
			panic("boom")
		})
	}()
	err := s.Update(t.Context(), func(tx meta.Tx) error {
		_, created, err := tx.Repositories().Ensure("r")
		if !created {
			t.Error("repository from the panicking Update survived")
		}
		return err
	})
	if err != nil {
		t.Fatalf("Update after a panic: %v", err)
	}
}

func TestEmptyNamesRejected(t *testing.T) {
	s, _ := open(t, bolt.NoSync())
	defer s.Close()
	err := s.Update(t.Context(), func(tx meta.Tx) error {
		if _, _, err := tx.Repositories().Ensure(""); err == nil {
			t.Error("Ensure(\"\") succeeded")
		}
		if err := tx.Uploads().Put(meta.Upload{}); err == nil {
			t.Error("Uploads.Put with an empty id succeeded")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRefusesUnknownLayoutVersion(t *testing.T) {
	s, path := open(t, bolt.NoSync())
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket([]byte("schema")).Put([]byte("version"), []byte("99"))
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err := bolt.Open(path); err == nil {
		s.Close()
		t.Fatal("Open accepted layout version 99")
	}
}
