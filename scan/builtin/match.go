package builtin

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/google/osv-scalibr/extractor"
	apkmeta "github.com/google/osv-scalibr/extractor/filesystem/os/apk/metadata"
	dpkgmeta "github.com/google/osv-scalibr/extractor/filesystem/os/dpkg/metadata"
	rpmmeta "github.com/google/osv-scalibr/extractor/filesystem/os/rpm/metadata"
	"github.com/google/osv-scalibr/inventory"
	"github.com/google/osv-scalibr/inventory/vex"

	"github.com/berthreg/berth/scan"
	"github.com/berthreg/berth/scan/osv"
)

// epochEcosystems are the RPM distributions whose OSV records write the
// epoch into versions ("1:3.0.7-27.el9").
var epochEcosystems = map[string]bool{"Red Hat": true, "AlmaLinux": true, "Rocky Linux": true}

// lookup is how an installed package is looked up in the OSV database:
// osv-scalibr's ecosystem for it (Package.Ecosystem: "Alpine:v3.18" from
// VERSION_ID 3.18.2, "Debian:12", "Red Hat:…", "AlmaLinux:9", "Go"), and
// the name and version the distribution's advisories are keyed by — the
// source package of a Debian binary package (with its source version),
// the origin of an Alpine one, the epoch-qualified version of an RPM on
// the Red Hat family, "stdlib" for the Go toolchain. ok is false for
// packages no advisory can name: no ecosystem (an OS without a VERSION_ID
// or one osv-scalibr does not know), no version, a Go module built as
// "(devel)".
func lookup(p *extractor.Package) (osv.Package, bool) {
	eco := p.Ecosystem()
	if eco.Ecosystem == "" || p.Version == "" {
		return osv.Package{}, false
	}
	if m, ok := p.Metadata.(*rpmmeta.Metadata); ok && eco.Ecosystem == "Rocky Linux" && eco.Suffix == "" {
		// osv-scalibr v0.5.3 names no release for Rocky Linux, while
		// osv.dev keys Rocky advisories by major release ("Rocky
		// Linux:9"), as it does AlmaLinux's, for which scalibr does.
		eco.Suffix, _, _ = strings.Cut(m.OSVersionID, ".")
	}
	q := osv.Package{Ecosystem: eco.String(), Name: p.Name, Version: p.Version}
	switch m := p.Metadata.(type) {
	case *dpkgmeta.Metadata:
		if m.SourceName != "" {
			q.Name = m.SourceName
		}
		if m.SourceVersion != "" {
			q.Version = m.SourceVersion
		}
	case *apkmeta.Metadata:
		if m.OriginName != "" {
			q.Name = m.OriginName
		}
	case *rpmmeta.Metadata:
		if m.Epoch > 0 && epochEcosystems[string(eco.Ecosystem)] {
			q.Version = strconv.Itoa(m.Epoch) + ":" + q.Version
		}
	}
	if string(eco.Ecosystem) == "Go" {
		if q.Name == "go" {
			q.Name = "stdlib"
		}
		if q.Version == "(devel)" {
			return osv.Package{}, false
		}
	}
	return q, true
}

// notPresent reports a package osv-scalibr marks as matching no
// vulnerability (a Debian transitional package, installed but empty).
func notPresent(p *extractor.Package) bool {
	return slices.ContainsFunc(p.ExploitabilitySignals, func(s *vex.PackageExploitabilitySignal) bool {
		return s != nil && s.MatchesAllVulns
	})
}

// vulnerabilities matches every package of inv: one entry per
// vulnerability and installed package, naming the binary package and
// its installed version (the advisory's package, when it differs, is in
// VendorAttributes["source_package"]; a Go module by its path, the Go
// toolchain as "stdlib"), sorted by id, then package, then version. A package whose version the ecosystem's rules cannot read is
// logged and matched no further.
func (s *Scanner) vulnerabilities(inv inventory.Inventory) []scan.Vulnerability {
	out := []scan.Vulnerability{}
	at := map[[3]string]int{}
	for _, p := range inv.Packages {
		q, ok := lookup(p)
		if !ok || notPresent(p) {
			continue
		}
		vs, err := s.db.Match(q)
		if err != nil {
			s.logger.Warn("matching a package", "ecosystem", q.Ecosystem, "package", q.Name, "version", q.Version, "err", err)
		}
		for _, v := range vs {
			v.Package, v.Version = p.Name, p.Version
			if q.Ecosystem == "Go" {
				v.Package = q.Name // the module path; "stdlib" for the toolchain
			}
			attrs := map[string]any{"ecosystem": q.Ecosystem}
			if q.Name != p.Name {
				attrs["source_package"] = q.Name
			}
			if q.Version != p.Version {
				attrs["source_version"] = q.Version
			}
			if path := p.Location.PathOrEmpty(); path != "" {
				attrs["path"] = path
			}
			if p.LayerMetadata != nil && p.LayerMetadata.DiffID != "" {
				attrs["layer_diff_id"] = p.LayerMetadata.DiffID.String()
			}
			for k, val := range v.VendorAttributes {
				attrs[k] = val
			}
			v.VendorAttributes = attrs
			k := [3]string{v.ID, v.Package, v.Version}
			if i, dup := at[k]; dup {
				if v.Severity.Rank() > out[i].Severity.Rank() {
					out[i] = v
				}
				continue
			}
			at[k] = len(out)
			out = append(out, v)
		}
	}
	slices.SortStableFunc(out, func(a, b scan.Vulnerability) int {
		return cmp.Or(cmp.Compare(a.ID, b.ID), cmp.Compare(a.Package, b.Package), cmp.Compare(a.Version, b.Version))
	})
	return out
}
