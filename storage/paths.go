package storage

import (
	"path"

	"github.com/opencontainers/go-digest"
)

// BlobPath is where a driver keeps the content of the blob with digest d:
// "blobs/<algorithm>/<first two hex>/<hex>". Every repository shares it.
func BlobPath(d digest.Digest) string {
	hex := d.Encoded()
	prefix := hex
	if len(prefix) > 2 {
		prefix = prefix[:2]
	}
	return path.Join("blobs", d.Algorithm().String(), prefix, hex)
}

// UploadPath is where the bytes of the in-progress upload with the given id
// are written before they move to their BlobPath.
func UploadPath(id string) string {
	return path.Join("uploads", id, "data")
}

// UploadDir is the directory that holds everything of one upload session.
func UploadDir(id string) string {
	return path.Join("uploads", id)
}
