package registry_test

import (
	"testing"

	"github.com/berthreg/berth/internal/testbolt"
	"github.com/berthreg/berth/registry"
	"github.com/berthreg/berth/storage/memory"
)

// TestNewNeedsItsParts: a nil driver or store, or an invalid option, is an
// error from New, not a handler that fails later.
func TestNewNeedsItsParts(t *testing.T) {
	store := testbolt.Open(t)
	if _, err := registry.New(nil, store); err == nil {
		t.Error("New without a driver succeeded")
	}
	if _, err := registry.New(memory.New(), nil); err == nil {
		t.Error("New without a store succeeded")
	}
	if _, err := registry.New(memory.New(), store, registry.WithMaxManifestSize(0)); err == nil {
		t.Error("New with a zero manifest size cap succeeded")
	}
	if _, err := registry.New(memory.New(), store); err != nil {
		t.Errorf("New with its parts: %v", err)
	}
}
