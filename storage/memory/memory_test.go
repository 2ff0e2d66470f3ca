package memory_test

import (
	"testing"

	"github.com/berthreg/berth/storage"
	"github.com/berthreg/berth/storage/memory"
	"github.com/berthreg/berth/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Driver { return memory.New() })
}
