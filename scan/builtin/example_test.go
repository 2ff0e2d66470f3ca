package builtin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/berthreg/berth/registrytest"
	"github.com/berthreg/berth/scan"
	"github.com/berthreg/berth/scan/builtin"
	"github.com/berthreg/berth/scan/osv"
)

// Scan an Alpine image in a registry against an offline OSV database
// and read its vulnerability report. (The image here is one layer of an
// Alpine 3.18.2 package database; the database is testdata/osv.)
func Example() {
	reg, err := registrytest.Start()
	if err != nil {
		panic(err)
	}
	defer reg.Close()
	l, err := layer(alpineFiles...)
	if err != nil {
		panic(err)
	}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		panic(err)
	}
	ref, _ := name.ParseReference(reg.Host + "/library/alpine:3.18.2")
	if err := remote.Write(ref, img); err != nil {
		panic(err)
	}
	digest, _ := img.Digest()

	db, err := osv.Load("testdata/osv")
	if err != nil {
		panic(err)
	}
	s := builtin.New(db, builtin.WithConcurrency(2), builtin.WithRetention(time.Hour))
	defer s.Close()

	ctx := context.Background()
	id, err := s.Scan(ctx, scan.Request{
		Registry: scan.Registry{URL: reg.URL},
		Artifact: scan.Artifact{Repository: "library/alpine", Digest: digest.String()},
	})
	if err != nil {
		panic(err)
	}
	b, err := scan.Wait(ctx, s, id, scan.MimeVulnReport, "")
	if err != nil {
		panic(err)
	}
	var r scan.VulnerabilityReport
	if err := json.Unmarshal(b, &r); err != nil {
		panic(err)
	}
	fmt.Println("severity:", r.Severity)
	for _, v := range r.Vulnerabilities {
		fmt.Println(v.ID, v.Package, v.Version, "→", v.FixVersion, v.Severity)
	}
	// Output:
	// severity: Critical
	// CVE-2022-48174 busybox 1.36.1-r0 → 1.36.1-r1 Critical
	// CVE-2023-2975 libcrypto3 3.1.1-r1 → 3.1.1-r2 Medium
	// CVE-2023-2975 libssl3 3.1.1-r1 → 3.1.1-r2 Medium
	// CVE-2023-3446 libcrypto3 3.1.1-r1 → 3.1.1-r3 Medium
	// CVE-2023-3446 libssl3 3.1.1-r1 → 3.1.1-r3 Medium
	// CVE-2023-5363 libcrypto3 3.1.1-r1 → 3.1.4-r0 High
	// CVE-2023-5363 libssl3 3.1.1-r1 → 3.1.4-r0 High
}
