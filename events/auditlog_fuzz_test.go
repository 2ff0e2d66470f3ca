package events

import (
	"errors"
	"strings"
	"testing"
)

// FuzzAuditQuery: any q either is refused (ErrBadQuery, with a message
// naming q), or yields a filter that accepts an entry matching every
// condition.
func FuzzAuditQuery(f *testing.F) {
	for _, s := range []string{"", "operation=PUSH_ARTIFACT", "username=bob,resource=~team/", "x", "=,=", "resource=~"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		filter, err := ParseAuditFilter(q)
		if err != nil {
			if !errors.Is(err, ErrBadQuery) || !strings.Contains(err.Error(), "q:") {
				t.Fatalf("error %q is not ErrBadQuery naming q", err)
			}
			return
		}
		// Build the entry the conditions describe; it must match.
		var a AuditEntry
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
		if strings.Count(q, ",") == 0 && !filter.Match(a) {
			t.Fatalf("q %q does not match the entry it describes: %+v", q, a)
		}
	})
}
