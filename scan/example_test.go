package scan_test

import (
	"fmt"

	"github.com/berthreg/berth/scan"
)

func ExampleHighest() {
	vs := []scan.Vulnerability{{ID: "CVE-1", Severity: scan.SeverityLow}, {ID: "CVE-2", Severity: scan.SeverityHigh}}
	fmt.Println(scan.Highest(vs), scan.SeverityHigh.Rank() > scan.SeverityMedium.Rank())
	// Output: High true
}
