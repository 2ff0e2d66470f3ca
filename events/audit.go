package events

import (
	"fmt"
	"strings"
	"time"

	"github.com/berthreg/berth/meta"
)

// AuditResource names what an event is about, for the audit log: the
// artifact (repository:tag or repository@digest), else the repository,
// else the named resource.
func AuditResource(e meta.Event) string {
	switch {
	case e.Repository != "" && e.Tag != "":
		return e.Repository + ":" + e.Tag
	case e.Repository != "" && e.Digest != "":
		return e.Repository + "@" + e.Digest
	case e.Repository != "":
		return e.Repository
	}
	return e.Resource
}

// AuditLine is the one-line audit record of e: who did what to which
// resource, with the result and time, as key=value pairs.
func AuditLine(e meta.Event) string {
	var b strings.Builder
	fmt.Fprintf(&b, "seq=%d time=%s operator=%q operation=%s resource=%q", e.Seq, e.Time.UTC().Format(time.RFC3339Nano), e.Operator, e.Type, AuditResource(e))
	if e.Project != "" {
		fmt.Fprintf(&b, " project=%q", e.Project)
	}
	result := e.Result
	if result == "" {
		result = "success"
	}
	fmt.Fprintf(&b, " result=%s", result)
	return b.String()
}
