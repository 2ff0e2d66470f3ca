package api

import (
	"strings"
	"testing"
)

// FuzzAuditQuery: any q either is refused with a message naming q, or
// yields a filter that accepts an entry matching every condition.
func FuzzAuditQuery(f *testing.F) {
	for _, s := range []string{"", "operation=PUSH_ARTIFACT", "username=bob,resource=~team/", "x", "=,=", "resource=~"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		match, err := auditQuery(q)
		if err != nil {
			if !strings.Contains(err.Error(), "q:") {
				t.Fatalf("error %q does not name q", err)
			}
			return
		}
		// Build the entry the conditions describe; it must match.
		var a auditLog
		for _, part := range strings.Split(q, ",") {
			if part == "" {
				continue
			}
			k, v, _ := strings.Cut(part, "=")
			v = strings.TrimPrefix(v, "~")
			switch k {
			case "username":
				a.Username += v
			case "operation":
				a.Operation += v
			case "resource_type":
				a.ResourceType += v
			case "resource":
				a.Resource += v
			case "project_name":
				a.Project += v
			}
		}
		if strings.Count(q, ",") == 0 && !match(a) {
			t.Fatalf("q %q does not match the entry it describes: %+v", q, a)
		}
	})
}
