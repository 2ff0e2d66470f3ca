// Package scan is Berth's scanning interface: Scanner, which the built-in
// scanner, Harbor scanner adapters reached over the Pluggable Scanner API
// v1.2 (package scan/pluggable) and plugin authors' scanners implement,
// with the request, metadata and report types of that API.
//
// Package scan/scantest holds the suite a Scanner implementation must
// pass; scan/pluggable serves any Scanner as a Harbor scanner adapter and
// reaches adapters (such as Trivy's) as a Scanner.
package scan
