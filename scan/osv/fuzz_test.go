package osv

import "testing"

// FuzzParse: any record is refused or yields an advisory whose matching
// returns without panicking.
func FuzzParse(f *testing.F) {
	for _, r := range records {
		f.Add(r, "1.2.3-1")
	}
	f.Add(record("TEST-CVSS", sev("CVSS_V3", v31Critical, "CVSS_V4", v40Critical, "CVSS_V2", v2High, "Ubuntu", "low"),
		`"ecosystem_specific":{"urgency":"medium**"}`), "1.0-1")
	f.Fuzz(func(t *testing.T, record, version string) {
		a, err := Parse([]byte(record))
		if err != nil {
			return
		}
		db := &DB{}
		db.Add(a)
		for _, af := range a.Affected {
			_, _ = db.Match(Package{Ecosystem: af.Package.Ecosystem, Name: af.Package.Name, Version: version})
		}
	})
}
