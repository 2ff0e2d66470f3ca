// Package storage defines the Driver interface through which Berth stores
// bytes (blobs, manifest bytes and in-progress uploads), and helpers shared by
// every driver.
//
// Drivers live in sub-packages: storage/fs (local disk, the default),
// storage/memory (tests and throw-away registries), and storage/objectstore
// for object stores, with the adapters storage/s3 and storage/oss.
// storage/storagetest is the conformance suite a driver must pass.
//
// Optional interfaces extend a Driver: Opener (random access, so pulls use
// sendfile), Redirector (presigned URLs for pulls) and Sessioner (upload
// sessions kept as backend parts plus a state the caller persists, for
// stores that cannot append).
//
// Drivers never register themselves globally: a host constructs the one it
// wants and hands it to registry.New.
package storage
