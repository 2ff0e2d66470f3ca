package engine_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/meta/bolt"
	"github.com/berthreg/berth/scan"
	"github.com/berthreg/berth/scan/engine"
)

// A project's scanning settings become the pull gate the engine's Gate
// hooks apply to every manifest pull.
func ExampleGateOf() {
	settings := accounts.ProjectScan{PreventVulnerable: true, Severity: "High",
		Allowlist: []accounts.AllowedVulnerability{{ID: "CVE-2023-5363", ExpiresAt: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}}}
	report := &scan.VulnerabilityReport{Vulnerabilities: []scan.Vulnerability{
		{ID: "CVE-2023-5363", Severity: scan.SeverityHigh},
		{ID: "CVE-2022-48174", Severity: scan.SeverityCritical},
		{ID: "CVE-2023-3446", Severity: scan.SeverityMedium},
	}}
	gate := engine.GateOf(settings)
	fmt.Println(gate.Decide(report, time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)))
	fmt.Println(gate.Decide(report, time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC)))
	// Output:
	// false vulnerabilities of severity High or higher: CVE-2022-48174 (Critical)
	// false vulnerabilities of severity High or higher: CVE-2022-48174 (Critical), CVE-2023-5363 (High)
}

// The engine's services check what a Go caller asks for as the admin API
// does, naming the field at fault.
func ExampleNew() {
	dir, _ := os.MkdirTemp("", "berth-example")
	defer os.RemoveAll(dir)
	store, err := bolt.Open(filepath.Join(dir, "meta.db"), bolt.NoSync())
	if err != nil {
		panic(err)
	}
	defer store.Close()
	e, err := engine.New(store, engine.WithTimeout(10*time.Minute))
	if err != nil {
		panic(err)
	}
	err = e.Registrations().Create(context.Background(), engine.ScannerSpec{Name: "trivy", URL: "ftp://trivy"})
	fmt.Println(err, errors.Is(err, engine.ErrInvalid))
	// Output:
	// url: "ftp://trivy" is not an http or https URL true
}
