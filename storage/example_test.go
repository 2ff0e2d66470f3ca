package storage_test

import (
	"fmt"

	"github.com/berthreg/berth/storage"
	"github.com/opencontainers/go-digest"
)

// Where blobs and uploads live inside any driver.
func ExampleBlobPath() {
	d := digest.FromString("hello")
	fmt.Println(storage.BlobPath(d))
	fmt.Println(storage.UploadPath("0123456789abcdef0123456789abcdef"))
	// Output:
	// blobs/sha256/2c/2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824
	// uploads/0123456789abcdef0123456789abcdef/data
}
