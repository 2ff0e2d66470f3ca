package fs

import (
	"os"

	"golang.org/x/sys/unix"
)

// startWriteback asks the kernel to start writing the given byte range of f
// to disk without waiting for it (sync_file_range with WRITE only). It is a
// hint: errors are ignored, and Commit's fsync remains what makes data durable.
func startWriteback(f *os.File, off, n int64) {
	_ = unix.SyncFileRange(int(f.Fd()), off, n, unix.SYNC_FILE_RANGE_WRITE)
}
