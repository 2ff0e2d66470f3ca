//go:build !unix

package fs

import "os"

// rmdir removes an empty directory.
func rmdir(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return &os.PathError{Op: "rmdir", Path: dir, Err: os.ErrInvalid}
	}
	return os.Remove(dir)
}
