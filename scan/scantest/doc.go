// Package scantest is the suite a scan.Scanner implementation must pass:
// a plugin author calls Run from a test with a request for an artifact
// their scanner can reach (a registry started by registrytest, say).
package scantest
