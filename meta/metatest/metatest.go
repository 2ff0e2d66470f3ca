package metatest

import (
	"testing"

	"github.com/berthreg/berth/meta"
)

// Run runs the conformance suite against the backend that newStore builds.
//
// newStore must return a new, empty store on every call; the suite calls it
// once per subtest and closes the store when that subtest ends, so newStore
// need only clean up what Close leaves behind (t.TempDir does that for
// files). Subtests run one after another; one of them runs many goroutines
// against a single store.
func Run(t *testing.T, newStore func(t *testing.T) meta.Store) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newStore(t)
			if s == nil {
				t.Fatal("newStore returned nil")
			}
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			c.fn(t, s)
		})
	}
}

// cases lists the suite's subtests in the order they run.
var cases = []struct {
	name string
	fn   func(*testing.T, meta.Store)
}{
	{"Tx/UpdateCommits", testUpdateCommits},
	{"Tx/UpdateErrorRollsBack", testUpdateRollsBack},
	{"Tx/ViewIsReadOnly", testViewReadOnly},
	{"Tx/MethodErrorKeepsTxUsable", testErrorKeepsTxUsable},
	{"Tx/CancelledContext", testCancelledContext},
	{"Tx/ReadYourWrites", testReadYourWrites},
	{"Repositories/EnsureGet", testRepositoriesEnsureGet},
	{"Repositories/List", testRepositoriesList},
	{"Repositories/DeleteCascades", testRepositoriesDelete},
	{"Repositories/Count", testRepositoriesCount},
	{"Repositories/Stats", testRepositoriesStats},
	{"Manifests/RoundTrip", testManifestsRoundTrip},
	{"Manifests/PutReplaces", testManifestsReplace},
	{"Manifests/DeleteCascades", testManifestsDelete},
	{"Manifests/Referrers", testReferrers},
	{"Manifests/List", testManifestsList},
	{"Manifests/Artifacts", testArtifacts},
	{"Manifests/ArtifactsRandom", testArtifactsRandom},
	{"Tags/PutGetDelete", testTagsCRUD},
	{"Tags/List", testTagsList},
	{"Tags/Of", testTagsOf},
	{"Blobs/LinkIsolation", testBlobs},
	{"Blobs/List", testBlobsList},
	{"Blobs/Unlinked", testBlobsUnlinked},
	{"Collector", testCollector},
	{"Uploads", testUploads},
	{"Records", testRecords},
	{"Records/Typed", testRecordTypes},
	{"Events", testEvents},
	{"Events/Backward", testEventsBackward},
	{"Jobs", testJobs},
	{"ErrNotFound", testNotFound},
	{"Concurrency", testConcurrency},
	{"PagingLarge", testPagingLarge},
	{"PagingLarge/Artifacts", testPagingArtifacts},
}
