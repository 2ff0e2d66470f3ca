// Package engines drives the container engines themselves against the
// example server: Docker (Debian's docker.io daemon), containerd through
// ctr and through nerdctl, and Podman. Each logs in through the token
// flow, pulls an image, pulls one platform of a multi-platform index,
// pushes an image it loaded from an archive made here (into a project the
// push creates), and pulls a cosign-signed image from a project with
// content trust while the unsigned one is refused; once over plain HTTP
// and once over HTTPS with a certificate authority the test makes and
// tells the engine to trust the engine's own way. Digests are checked
// against values computed here, not taken from the engines.
//
// It is its own module, as e2e is, so nothing here reaches the library's
// go.mod. scripts/engines.sh installs and starts the engines and runs it;
// each engine's test skips, saying why, when the engine is missing or
// cannot run on the machine:
//
//	BERTH_REGISTRY_BIN     the example server binary (built from the
//	                       repository when unset)
//	BERTH_TOOLS            crane, cosign and nerdctl (scripts/tools.sh)
//	BERTH_CONTAINERD_ADDR, BERTH_CTR
//	                       containerd's socket and ctr (scripts/containerd.sh)
//	BERTH_DOCKER_HOST, BERTH_DOCKER, BERTH_DOCKER_PROXY, BERTH_DOCKER_CERTS_D,
//	BERTH_DOCKER_UNAVAILABLE
//	                       dockerd's socket, its client, the proxy address
//	                       it sends HTTPS through, its certs.d directory, or
//	                       why it did not start (scripts/docker.sh)
//	BERTH_PODMAN, BERTH_PODMAN_UNAVAILABLE
//	                       podman, or why it cannot run (scripts/podman.sh)
//
// The server is started here, twice for the whole run (plain HTTP, and
// HTTPS with the test's certificate authority), each with a fresh data
// directory, auth on and projects created on push; each engine works in
// projects of its own, and in an image store and configuration of its
// own (a temp DOCKER_CONFIG, containerd namespace, podman root).
//
// Over HTTPS each engine is first shown to refuse the server's
// certificate when not told about the CA. dockerd never checks
// certificates of registries on 127.0.0.0/8 (it takes them as
// insecure), so Docker reaches the HTTPS server by a name that resolves
// nowhere, berth-engines.test, through an HTTP proxy the test runs on
// the address dockerd's HTTPS_PROXY names; the CA goes into dockerd's
// certs.d for that name and port for the test's duration.
package engines
