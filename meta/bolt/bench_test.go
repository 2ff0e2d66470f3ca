package bolt_test

import (
	"fmt"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/bolt"
)

// BenchmarkRepositorySize measures the per-request operations of a pull and
// of a tag listing page in repositories of very different sizes; the cost
// per operation should not grow with the number of tags.
func BenchmarkRepositorySize(b *testing.B) {
	for _, n := range []int{10, 10_000} {
		s, _ := open(b, bolt.NoSync())
		m := meta.Manifest{Digest: digest.FromString("m"), MediaType: "application/vnd.oci.image.manifest.v1+json", Size: 1}
		err := s.Update(b.Context(), func(tx meta.Tx) error {
			if _, _, err := tx.Repositories().Ensure("r"); err != nil {
				return err
			}
			for i := range n {
				d := digest.FromString(fmt.Sprint(i))
				if err := tx.Manifests().Put("r", meta.Manifest{Digest: d, Size: 1}); err != nil {
					return err
				}
				if err := tx.Tags().Put("r", fmt.Sprintf("t%d", i), d); err != nil {
					return err
				}
			}
			if err := tx.Manifests().Put("r", m); err != nil {
				return err
			}
			return tx.Tags().Put("r", "latest", m.Digest)
		})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("pull/tags=%d", n), func(b *testing.B) {
			for b.Loop() {
				err := s.View(b.Context(), func(tx meta.Tx) error {
					d, err := tx.Tags().Get("r", "latest")
					if err != nil {
						return err
					}
					_, err = tx.Manifests().Get("r", d)
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("tagsPage100/tags=%d", n), func(b *testing.B) {
			for b.Loop() {
				err := s.View(b.Context(), func(tx meta.Tx) error {
					_, err := tx.Tags().List("r", "t5", 100)
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("pushTag/tags=%d", n), func(b *testing.B) {
			for b.Loop() {
				err := s.Update(b.Context(), func(tx meta.Tx) error {
					return tx.Tags().Put("r", "moving", m.Digest)
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
