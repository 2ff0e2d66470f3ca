// Package cluster tests several example-server instances as an operator
// runs them: one PostgreSQL database and one S3 bucket (MinIO) shared,
// nginx in front, everything real and on loopback. It holds tests only;
// scripts/cluster.sh starts the cluster and runs them:
//
//	scripts/cluster.sh 3 -- go test -count=1 ./cluster/...   (make cluster)
//
// Every test skips unless BERTH_CLUSTER_URL is set, and reads the rest of
// the script's exports: the instances' URLs, pids, config files and logs,
// the admin password, the registry binary, and PostgreSQL's data
// directory and binary for the database outage. The tests push through
// the balancer and pull from each instance directly; upload a blob in
// chunks sent to different instances; SIGKILL an instance while clients
// push through the balancer (and check that every acknowledged push can
// be pulled from every instance afterwards); collect garbage on one
// instance while the others take pushes; kill the instance running a
// replication execution's tasks and the one delivering webhooks; and
// kill PostgreSQL under the running instances, which answer 503 with
// Retry-After until it is back and then serve again without a restart.
//
// A test that kills an instance starts it again, with the same config
// file, before it ends; each test first waits until every instance is
// ready, restarting one that an earlier, failed test left down. Clients
// are go-containerregistry's (with its retries) and plain HTTP where a
// test needs to say which instance a request goes to; every response is
// recorded, and a 500 from any instance fails the test.
package cluster
