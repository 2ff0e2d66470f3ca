// Package storagetest is the conformance suite for storage.Driver
// implementations.
//
// A driver author calls Run from an ordinary test in the driver's package:
//
//	func TestConformance(t *testing.T) {
//		storagetest.Run(t, func(t *testing.T) storage.Driver {
//			d, err := mydriver.New(t.TempDir())
//			if err != nil {
//				t.Fatal(err)
//			}
//			return d
//		})
//	}
//
// Run calls newDriver once per subtest and expects an empty driver each time;
// newDriver may register clean-up with t.Cleanup. Subtests run one after the
// other, so several drivers may share one backend as long as each sees only
// its own objects (a fresh bucket prefix, say).
//
// The suite checks the contract documented on storage.Driver and
// storage.FileWriter: round trips, offsets, resumable writers, Close, Cancel
// and Commit semantics, listing order and paging, Walk, Move, Delete, the
// sentinel errors (tested with errors.Is), and concurrent use. When the driver
// also implements storage.Opener or storage.Sessioner, those are checked too.
//
// One subtest streams a little over 256 MiB through the driver and verifies
// it by SHA-256; it is skipped under go test -short.
package storagetest
