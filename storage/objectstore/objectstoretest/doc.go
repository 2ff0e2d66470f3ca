// Package objectstoretest is the conformance suite for objectstore.Bucket
// adapters. A plugin author who wrote a Bucket for another object store
// calls Run from a test in the adapter's package, against a real server:
//
//	func TestObjectStore(t *testing.T) {
//		objectstoretest.Run(t, endpoint, func(t *testing.T, s objectstoretest.Setup) *objectstore.Driver {
//			// build the adapter's bucket and options for s.Endpoint
//			// (or the configured one) and s.Root, then:
//			return s.Driver(t, bucket, options)
//		})
//	}
//
// Run runs storagetest.Run on the adapter's driver, then what only an object
// store needs checking: resuming past the part minimum by server-side copy,
// multipart moves above the copy limit, listing order across page
// boundaries; and, with a registry on top and a counting proxy in front of
// the server, that a chunked blob push across two registry instances sends
// every byte exactly once and reads none back, that transient 5xx and 429
// answers are retried, and that presigned redirects serve pulls from the
// bucket. A Bucket wrapper records every multipart upload, and each subtest
// fails if one is left neither completed nor aborted.
package objectstoretest
