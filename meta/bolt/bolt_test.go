package bolt_test

import (
	"context"
	_ "crypto/sha256" // digest.SHA256
	_ "crypto/sha512" // digest.SHA384, digest.SHA512
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
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
	// Without the timeout this Open would wait for the lock for ever.
	s2, err := bolt.Open(path, bolt.Timeout(100*time.Millisecond))
	if !errors.Is(err, bolt.ErrLocked) {
		if s2 != nil {
			s2.Close()
		}
		t.Fatalf("second Open: %v, want ErrLocked", err)
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
	if s, err := bolt.Open(path); !errors.Is(err, bolt.ErrUnsupportedLayout) {
		if s != nil {
			s.Close()
		}
		t.Fatalf("Open of layout version 99: %v, want ErrUnsupportedLayout", err)
	}
}

// TestRefusesJSONLayout checks that a file of layout version 1 (JSON
// records, string digests) is refused with an error that says so, and is
// left as it was.
func TestRefusesJSONLayout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meta.db")
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bbolt.Tx) error {
		sb, err := tx.CreateBucket([]byte("schema"))
		if err != nil {
			return err
		}
		return sb.Put([]byte("version"), []byte("1"))
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := bolt.Open(path)
	if !errors.Is(err, bolt.ErrUnsupportedLayout) {
		if s != nil {
			s.Close()
		}
		t.Fatalf("Open of a version 1 file: %v, want ErrUnsupportedLayout", err)
	}
	for _, want := range []string{path, `"1"`, `"2"`, "JSON"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	db, err = bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_ = db.View(func(tx *bbolt.Tx) error {
		if v := tx.Bucket([]byte("schema")).Get([]byte("version")); string(v) != "1" {
			t.Errorf("version after the refused Open: %q", v)
		}
		if tx.Bucket([]byte("repos")) != nil {
			t.Error("the refused Open created buckets")
		}
		return nil
	})
}

// TestMixedDigestAlgorithms stores manifests, tags, referrers and blobs
// under canonical sha256 and sha512 digests and under digests kept as
// literals (sha384, non-canonical hex), and checks that everything reads
// back and every digest listing is in lexical order.
func TestMixedDigestAlgorithms(t *testing.T) {
	s, _ := open(t, bolt.NoSync())
	defer s.Close()
	var ds []digest.Digest
	for i := range 5 {
		ds = append(ds, digest.SHA256.FromString(fmt.Sprint(i)), digest.SHA512.FromString(fmt.Sprint(i)), digest.SHA384.FromString(fmt.Sprint(i)))
	}
	upper := digest.Digest("sha256:" + strings.ToUpper(digest.SHA256.FromString("u").Encoded()))
	ds = append(ds, upper, "blake3:"+digest.Digest(digest.SHA256.FromString("b").Encoded()), "zzz:1")
	subject := digest.Digest("sha384:" + strings.Repeat("0", 96))
	err := s.Update(t.Context(), func(tx meta.Tx) error {
		if _, _, err := tx.Repositories().Ensure("r"); err != nil {
			return err
		}
		for i, d := range ds {
			m := meta.Manifest{Digest: d, MediaType: "application/vnd.oci.image.manifest.v1+json", Subject: subject, Size: int64(i),
				Layers: []meta.Descriptor{{Digest: d, Size: 1}}}
			if err := tx.Manifests().Put("r", m); err != nil {
				return err
			}
			if err := tx.Tags().Put("r", fmt.Sprintf("t%02d", i), d); err != nil {
				return err
			}
			if err := tx.Blobs().Link("r", meta.Blob{Digest: d, Size: int64(i)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(ds)
	slices.Sort(want)
	err = s.View(t.Context(), func(tx meta.Tx) error {
		for i, d := range ds {
			m, err := tx.Manifests().Get("r", d)
			if err != nil || m.Digest != d || m.Size != int64(i) || m.Subject != subject || m.Layers[0].Digest != d {
				t.Errorf("manifest %s: %+v, %v", d, m, err)
			}
			if got, err := tx.Tags().Get("r", fmt.Sprintf("t%02d", i)); err != nil || got != d {
				t.Errorf("tag t%02d: %s, %v; want %s", i, got, err, d)
			}
			if of, err := tx.Tags().Of("r", d); err != nil || !slices.Equal(of, []string{fmt.Sprintf("t%02d", i)}) {
				t.Errorf("Of(%s): %q, %v", d, of, err)
			}
			if b, err := tx.Blobs().Linked("r", d); err != nil || b.Digest != d || b.Size != int64(i) {
				t.Errorf("link %s: %+v, %v", d, b, err)
			}
			if b, err := tx.Blobs().Stat(d); err != nil || b.Digest != d {
				t.Errorf("blob %s: %+v, %v", d, b, err)
			}
		}
		got, err := tx.Manifests().List("r", "", 0)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("List:\n got %v, %v\nwant %v", got, err, want)
		}
		var paged []digest.Digest
		for after := digest.Digest(""); ; {
			p, err := tx.Manifests().List("r", after, 2)
			if err != nil {
				t.Fatal(err)
			}
			paged = append(paged, p...)
			if len(p) < 2 {
				break
			}
			after = p[len(p)-1]
		}
		if !slices.Equal(paged, want) {
			t.Errorf("List paged by 2:\n got %v\nwant %v", paged, want)
		}
		refs, err := tx.Manifests().Referrers("r", subject)
		if err != nil || len(refs) != len(want) {
			t.Fatalf("Referrers: %d, %v", len(refs), err)
		}
		for i, m := range refs {
			if m.Digest != want[i] {
				t.Errorf("referrer %d: %s, want %s", i, m.Digest, want[i])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestUnrepresentableTimeChangesNothing checks that a record whose time the
// encoding cannot hold is refused before anything is changed: the replaced
// manifest and its referrers-index entry stay, and the transaction goes on.
func TestUnrepresentableTimeChangesNothing(t *testing.T) {
	s, _ := open(t, bolt.NoSync())
	defer s.Close()
	subject := digest.FromString("subject")
	m := meta.Manifest{Digest: digest.FromString("m"), Subject: subject, Size: 1, PushedAt: time.Unix(1700000000, 0)}
	far := time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)
	err := s.Update(t.Context(), func(tx meta.Tx) error {
		if _, _, err := tx.Repositories().Ensure("r"); err != nil {
			return err
		}
		if err := tx.Manifests().Put("r", m); err != nil {
			return err
		}
		moved := m
		moved.Subject, moved.PushedAt = "", far
		if err := tx.Manifests().Put("r", moved); err == nil {
			t.Error("Put with PushedAt in 2300 succeeded")
		}
		if err := tx.Blobs().Link("r", meta.Blob{Digest: m.Digest, CreatedAt: far}); err == nil {
			t.Error("Link with CreatedAt in 2300 succeeded")
		}
		if err := tx.Uploads().Put(meta.Upload{ID: "u", UpdatedAt: far}); err == nil {
			t.Error("Uploads.Put with UpdatedAt in 2300 succeeded")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.View(t.Context(), func(tx meta.Tx) error {
		got, err := tx.Manifests().Get("r", m.Digest)
		if err != nil || got.Subject != subject || !got.PushedAt.Equal(m.PushedAt) {
			t.Errorf("manifest after the refused Put: %+v, %v", got, err)
		}
		refs, err := tx.Manifests().Referrers("r", subject)
		if err != nil || len(refs) != 1 {
			t.Errorf("referrers after the refused Put: %d, %v", len(refs), err)
		}
		if _, err := tx.Blobs().Stat(m.Digest); !errors.Is(err, meta.ErrNotFound) {
			t.Errorf("blob after the refused Link: %v", err)
		}
		if _, err := tx.Uploads().Get("u"); !errors.Is(err, meta.ErrNotFound) {
			t.Errorf("upload after the refused Put: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
