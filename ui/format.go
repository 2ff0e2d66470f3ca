package ui

import (
	"fmt"
	"time"
)

// humanSize writes a byte count in binary units: 0 B, 1.5 KiB, 12 MiB.
func humanSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB"}
	v := float64(n) / unit
	i := 0
	for v >= unit && i < len(units)-1 {
		v /= unit
		i++
	}
	if v < 10 {
		return fmt.Sprintf("%.1f %s", v, units[i])
	}
	return fmt.Sprintf("%.0f %s", v, units[i])
}

// timeLayout is how the portal writes a moment: to the minute, in UTC
// (the machine's zone would differ between instances).
const timeLayout = "2006-01-02 15:04 UTC"

// humanTime writes an RFC 3339 moment (as the API answers) to the
// minute, or "" for none.
func humanTime(v string) string {
	if v == "" {
		return ""
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return v
	}
	if t.IsZero() || t.Year() <= 1 {
		return ""
	}
	return t.UTC().Format(timeLayout)
}
