//go:build unix

package fs

import (
	"os"
	"syscall"
)

// rmdir removes an empty directory. Unlike os.Remove it never unlinks a
// file, so a racing writer's object that took the directory's name is safe.
func rmdir(dir string) error {
	if err := syscall.Rmdir(dir); err != nil {
		return &os.PathError{Op: "rmdir", Path: dir, Err: err}
	}
	return nil
}
