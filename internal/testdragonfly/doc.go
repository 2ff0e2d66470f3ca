// Package testdragonfly runs a real Dragonfly (d7y.io/dragonfly/v2, the
// P2P distribution system Berth's preheat drives) for tests: a Redis, a
// manager with its database on PostgreSQL, a scheduler and one seed peer
// (the Go `dfget daemon`), built by scripts/dragonfly.sh.
//
//	func TestPreheat(t *testing.T) {
//		df := testdragonfly.Start(t) // skips without the binaries or PostgreSQL
//		registry := df.Serve(t, handler) // where Dragonfly reaches the registry
//		p, _ := dragonfly.New(preheat.Endpoint{URL: df.ManagerURL, AuthMode: preheat.AuthOAuth,
//			AuthInfo: map[string]string{"token": df.Token}})
//		...
//	}
//
// Run the tests that use it under both scripts:
//
//	scripts/postgres.sh -- scripts/dragonfly.sh -- go test ./preheat/dragonfly/...
//
// The cluster runs in a network namespace the test process makes for it
// (so the test needs root, or CAP_SYS_ADMIN): Dragonfly's manager refuses
// to fetch an image's manifest from a loopback address, so the registry
// must be reachable at a global-unicast address, and a namespace of the
// test's own has one (HostIP) without a packet leaving the machine. Serve
// puts a handler there. The test process reaches the manager's REST API
// through a forwarder on 127.0.0.1 (ManagerURL), and the manager reaches
// PostgreSQL through one the other way. Inside the namespace the ports
// are fixed: nothing else listens there.
//
// Each process logs to a file in the test's temp dir (or, with EnvKeep
// set, in a directory that stays); when the test fails, the last lines
// of each are printed. Everything stops when the test ends, and the
// manager's database is dropped.
package testdragonfly
