package securityhub_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/bolt"
	"github.com/berthreg/berth/scan"
	"github.com/berthreg/berth/scan/securityhub"
)

// The scan engine records each scan's findings in the hub in the
// transaction that records the scan; the summary and the search then
// read what was kept, not the reports.
func Example() {
	dir, _ := os.MkdirTemp("", "berth-example")
	defer os.RemoveAll(dir)
	store, err := bolt.Open(filepath.Join(dir, "meta.db"), bolt.NoSync())
	if err != nil {
		panic(err)
	}
	defer store.Close()
	ctx := context.Background()
	record := func(repo, image string, vs ...scan.Vulnerability) {
		err := store.Update(ctx, func(tx meta.Tx) error {
			return securityhub.Record(tx, securityhub.Scan{Repository: repo, Digest: digest.FromString(image), Vulnerabilities: vs})
		})
		if err != nil {
			panic(err)
		}
	}
	record("team/app", "app v1",
		scan.Vulnerability{ID: "CVE-2023-5363", Package: "libssl3", Version: "3.1.1-r1", FixVersion: "3.1.4-r0",
			Severity: scan.SeverityHigh, PreferredCVSS: &scan.CVSS{ScoreV3: 7.5}},
		scan.Vulnerability{ID: "CVE-2022-48174", Package: "busybox", Version: "1.36.1-r0", FixVersion: "1.36.1-r1",
			Severity: scan.SeverityCritical, PreferredCVSS: &scan.CVSS{ScoreV3: 9.8}})
	record("team/web", "web v1",
		scan.Vulnerability{ID: "CVE-2023-5363", Package: "libssl3", Version: "3.1.1-r1", Severity: scan.SeverityHigh,
			PreferredCVSS: &scan.CVSS{ScoreV3: 7.5}})

	hub, err := securityhub.New(store)
	if err != nil {
		panic(err)
	}
	s, err := hub.Summary(ctx, securityhub.SummaryOptions{DangerousCVEs: true})
	if err != nil {
		panic(err)
	}
	fmt.Printf("critical %d, high %d, fixable %d, scanned %d\n", s.Critical, s.High, s.Fixable, s.Scanned)
	for _, c := range s.DangerousCVEs {
		fmt.Printf("%s %.1f in %d artifacts\n", c.CVE, c.CVSS3, c.Artifacts)
	}
	q, err := securityhub.ParseQuery("cve_id=CVE-2023-5363")
	if err != nil {
		panic(err)
	}
	items, total, err := hub.Vulnerabilities(ctx, q, securityhub.Page{Limit: 10})
	if err != nil {
		panic(err)
	}
	fmt.Println(total, "findings:")
	for _, it := range items {
		fmt.Println(" ", it.Repository, it.Package, it.FixVersion)
	}
	// Output:
	// critical 1, high 2, fixable 2, scanned 2
	// CVE-2022-48174 9.8 in 1 artifacts
	// CVE-2023-5363 7.5 in 2 artifacts
	// 2 findings:
	//   team/app libssl3 3.1.4-r0
	//   team/web libssl3
}
