// Package storage defines the Driver interface through which Berth stores
// bytes (blobs, manifest bytes and in-progress uploads), and helpers shared by
// every driver.
//
// Drivers live in sub-packages: storage/fs (local disk, the default),
// storage/memory (tests and throw-away registries), and cloud drivers.
// storage/storagetest is the conformance suite a driver must pass.
//
// Drivers never register themselves globally: a host constructs the one it
// wants and hands it to registry.New.
package storage
