// Package testkraken runs a real Kraken (github.com/uber/kraken, Uber's
// P2P docker registry) on loopback for tests: the three components a
// preheat goes through, built by scripts/kraken.sh, with configurations
// generated into the test's temporary directory.
//
//	func TestPreheat(t *testing.T) {
//		k := testkraken.Start(t, registryHost, testkraken.WithBasicAuth("admin", pw))
//		// POST k.ProxyURL+"/registry/notifications" ...
//	}
//
// What runs (Kraken v0.1.4's own binaries, each with the nginx it execs
// in front of itself; every nginx listens on 127.0.0.1 only):
//
//   - the origin, Kraken's blob store and seeder, one origin in its hash
//     ring, whose backend for every namespace is the registry under test
//     (Kraken's "registry_blob" backend: GET /v2/<repo>/blobs/<digest>,
//     and /manifests/<digest> for a digest the blobs path does not know);
//   - the build-index, Kraken's tag store, its backend the same registry
//     ("registry_tag"); the proxy will not start without one;
//   - the proxy, whose server port takes the preheat notifications
//     (POST /registry/notifications) and /health.
//
// Kraken's tracker and agents are not run: a preheat stops at the origin
// (it caches the image's blobs there for the agents to seed from later),
// so neither they nor the tracker's Redis take part.
//
// Two listeners are Kraken's and bind every interface, as its code
// fixes (":port"): the proxy's server port (proxy/cmd/cmd.go) and the
// origin's torrent peer port (lib/torrent/scheduler/scheduler.go). They
// are only listened on; every address Kraken is given, and so every
// connection it makes, is on 127.0.0.1.
//
// Kraken's nginx configuration is fixed in part (nginx/config/base.go): it
// logs to /var/log/nginx/error.log and its generated file goes to
// /tmp/nginx. Start skips the test when the binaries are absent
// (BERTH_TEST_KRAKEN unset: run the tests under scripts/kraken.sh) or
// /var/log/nginx is not writable (not root), and fails it when
// BERTH_TEST_KRAKEN names a directory without them or /usr/sbin/nginx is
// missing (scripts/kraken.sh builds and installs both). The processes are stopped when the test ends (each in a process
// group of its own, with its nginx master and workers); their logs are
// printed when the test failed.
package testkraken
