// Package builtinscan links Berth's offline vulnerability scanner
// (scan/builtin, with the OSV database of scan/osv) into a server:
//
//	srv, err := server.New(ctx, cfg, server.WithBuiltinScanner(builtinscan.New))
//
// It is a package of its own so that a host that scans with Harbor
// scanner adapters only, or not at all, does not compile in the
// scanner's libraries (osv-scalibr, its SQLite and SBOM formats): package
// server does not import it.
package builtinscan
