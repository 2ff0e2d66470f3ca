package engine

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/internal/testbolt"
	"github.com/berthreg/berth/scan"
)

// namesField matches the field a *FieldError names, as the admin API
// spells it.
var namesField = regexp.MustCompile(`^[a-z_]+(\[\d+\])?(\.[a-z_]+(\[\d+\])?)*$`)

// checkFieldError fails unless err is a *FieldError matching ErrInvalid
// whose message starts with the field it names.
func checkFieldError(t *testing.T, err error) {
	t.Helper()
	var fe *FieldError
	if !errors.As(err, &fe) || !errors.Is(err, ErrInvalid) || !namesField.MatchString(fe.Field) ||
		!strings.HasPrefix(err.Error(), fe.Field+": ") {
		t.Fatalf("refusal %q (%T) names no field", err, err)
	}
}

// FuzzScannerRegistration: any registration the service is asked to
// create is refused with a *FieldError naming a field, or is one the
// engine can reach (http or https with a host) and whose entry never
// shows the credential.
func FuzzScannerRegistration(f *testing.F) {
	type seed struct {
		name, url, auth, cred string
	}
	for _, s := range []seed{
		{"trivy", "http://trivy:8080", "Bearer", "s3cret"}, {"t", "https://t", "Basic", "u:p"}, {"t", "ftp://t", "", ""},
		{"t", "http://t", "Magic", ""}, {"builtin", "http://t", "", ""}, {"t", "http://t", "X-ScannerAdapter-API-Key", ""},
		{"", "http://t", "", ""}, {"a b", "http://t", "", ""}, {"t", "http://127.0.0.1:1", "", ""}, {"t", "http://[::1]", "", ""},
		{"t", "Http://0", "", ""}, {"t", "HTTPS://t", "", ""}, {"t", "http://\xe7", "", ""}, {"\xff", "http://t", "", ""},
	} {
		f.Add(s.name, s.url, s.auth, s.cred)
	}
	e, err := New(testbolt.Open(f), WithBuiltin("builtin", &testScanner{}))
	if err != nil {
		f.Fatal(err)
	}
	regs := e.Registrations()
	f.Fuzz(func(t *testing.T, name, url, auth, cred string) {
		ctx := context.Background()
		err := regs.Create(ctx, ScannerSpec{Name: name, URL: url, Auth: auth, AccessCredential: &cred})
		if err != nil {
			checkFieldError(t, err)
			return
		}
		defer func() {
			if _, err := regs.Delete(ctx, name); err != nil {
				t.Fatal(err)
			}
		}()
		if lower := strings.ToLower(url); !strings.HasPrefix(lower, "http://") && !strings.HasPrefix(lower, "https://") {
			t.Fatalf("accepted URL %q", url)
		}
		got, err := regs.Get(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if got.URL != url || got.AccessCredential != "" {
			t.Fatalf("entry %+v: want URL %q and no credential", got, url)
		}
	})
}

// FuzzProjectScanSettings: any change to a project's scanning settings
// is refused with a *FieldError naming a field, or makes settings whose
// severity is on the scale, whose allowlist ids are set and trimmed, and
// that make a good gate; a change made from the result changes nothing.
func FuzzProjectScanSettings(f *testing.F) {
	f.Add("high", true, "CVE-2023-5363", int64(0), " CVE-2024-0727 ", int64(5))
	f.Add("none", true, "", int64(0), "x", int64(0))
	f.Add("CRITICAL", true, "x", int64(-1), "y", int64(1900000000))
	f.Add("scary", true, "x", int64(0), "y", int64(0))
	f.Add("", false, " ", int64(0), "y", int64(0))
	f.Fuzz(func(t *testing.T, severity string, setSeverity bool, id1 string, exp1 int64, id2 string, exp2 int64) {
		list := []accounts.AllowedVulnerability{{ID: id1}, {ID: id2}}
		for i, exp := range []int64{exp1, exp2} {
			if exp != 0 {
				list[i].ExpiresAt = time.Unix(exp, 0).UTC()
			}
		}
		on := true
		c := SettingsChange{AutoScan: &on, PreventVulnerable: &on, Allowlist: &list}
		if setSeverity {
			c.Severity = &severity
		}
		var ps accounts.ProjectScan
		err := c.Apply(&ps)
		if cerr := c.Check(); (err == nil) != (cerr == nil) {
			t.Fatalf("Apply = %v but Check = %v", err, cerr)
		}
		if err != nil {
			checkFieldError(t, err)
			return
		}
		if ps.Severity != "" && !scan.Severity(ps.Severity).Valid() {
			t.Fatalf("severity %q is not on the scale", ps.Severity)
		}
		for _, a := range ps.Allowlist {
			if a.ID == "" || a.ID != strings.TrimSpace(a.ID) {
				t.Fatalf("allowlist id %q", a.ID)
			}
		}
		if err := GateOf(ps).Check(); err != nil {
			t.Fatalf("settings make a bad gate: %v", err)
		}
		again := ps
		back := SettingsChange{AutoScan: &ps.AutoScan, PreventVulnerable: &ps.PreventVulnerable, DenyUnscanned: &ps.DenyUnscanned,
			Allowlist: &ps.Allowlist}
		if ps.Severity != "" {
			back.Severity = &ps.Severity
		}
		if err := back.Apply(&again); err != nil {
			t.Fatalf("the settings' own values are refused: %v", err)
		}
		a, _ := json.Marshal(ps)
		b, _ := json.Marshal(again)
		if string(a) != string(b) {
			t.Fatalf("settings change when applied again:\n%s\n%s", a, b)
		}
	})
}
