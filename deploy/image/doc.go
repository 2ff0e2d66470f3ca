// Package image holds the end-to-end test of Berth's container image,
// which scripts/image.sh builds offline: the example registry server for
// linux/amd64 and linux/arm64 on a base layer of Debian's CA certificates,
// a nonroot user 65532 and a /data volume, with a CycloneDX SBOM of each
// platform's binary.
//
// The test builds the image with the script, pushes it into a Berth it
// starts on loopback, attaches each SBOM to its platform's manifest as an
// OCI 1.1 referrer (oras), signs the index with a key pair it generates
// (cosign), and checks what the registry serves: the platforms, the
// configuration, the owners and modes of every layer entry, each binary's
// ELF machine and Go build settings, the SBOMs against the binaries, the
// referrers and the signature. Under containerd (scripts/containerd.sh,
// as root) it also runs the image for the host's architecture with a
// read-only root filesystem and checks that it answers /readyz and keeps
// its data in the /data volume.
//
// It is slow (two cross-compiled builds) and needs the pinned tools, so it
// runs only with BERTH_IMAGE_TEST=1; scripts/image-check.sh sets that up.
// The package has no non-test code.
package image
