package objectstoretest_test

import (
	"os"
	"testing"

	"github.com/berthreg/berth/storage/objectstore"
	"github.com/berthreg/berth/storage/objectstore/objectstoretest"
)

// myBucket stands for the adapter under test: an objectstore.Bucket for
// some store, talking to endpoint with a key prefix.
func myBucket(endpoint, root string) objectstore.Bucket {
	_, _ = endpoint, root
	return nil // a real adapter returns its Bucket here
}

// ExampleRun shows the test an adapter author adds to the adapter's
// package. The suite asks for drivers through Setup: a proxied endpoint, a
// shared or fresh root, a bucket wrapper and option changes, all of which
// the factory must honour.
func ExampleRun() {
	suite := func(t *testing.T) {
		endpoint := os.Getenv("MYSTORE_ENDPOINT")
		objectstoretest.Run(t, endpoint, func(t *testing.T, s objectstoretest.Setup) *objectstore.Driver {
			ep, root := endpoint, s.Root
			if s.Endpoint != "" {
				ep = s.Endpoint
			}
			if root == "" {
				root = "test/" + t.Name() // and remove it in t.Cleanup
			}
			o := objectstore.Options{
				Name: "mystore", RootDirectory: root,
				PartSize: 8 << 20, MinPartSize: 5 << 20, MaxPartSize: 5 << 30,
				MaxParts: 10000, MaxCopySize: 5 << 30,
			}
			return s.Driver(t, myBucket(ep, root), o) // applies s.Options and s.Wrap
		})
	}
	// In a real package this is func TestObjectStore(t *testing.T).
	_ = suite
}
