package fs_test

import (
	"testing"

	"github.com/berthreg/berth/storage"
	"github.com/berthreg/berth/storage/fs"
	"github.com/berthreg/berth/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Driver {
		d, err := fs.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return d
	})
}

func TestConformanceWithoutSync(t *testing.T) {
	if testing.Short() {
		t.Skip("the synced run covers the same code")
	}
	storagetest.Run(t, func(t *testing.T) storage.Driver {
		d, err := fs.New(t.TempDir(), fs.WithoutSync())
		if err != nil {
			t.Fatal(err)
		}
		return d
	})
}
