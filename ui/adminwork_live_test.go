package ui

import (
	"bytes"
	"strings"
	"testing"
)

// The live parts of the work pages ask to be polled while the work runs
// and stop asking once it is over.
func TestAdminWorkLive(t *testing.T) {
	pages, err := parseTemplates()
	if err != nil {
		t.Fatal(err)
	}
	live := func(page string, data map[string]any) string {
		t.Helper()
		var buf bytes.Buffer
		v := &view{L: locale{Lang: langChinese}, Data: data}
		if err := pages[page].ExecuteTemplate(&buf, "live", v); err != nil {
			t.Fatalf("%s: %v", page, err)
		}
		return buf.String()
	}
	for status, polled := range map[string]bool{"Pending": true, "Running": true, "Success": false, "Error": false, "Stopped": false} {
		run := workGcRun{ID: 7, JobStatus: status, JobParameters: `{"dryRun":true}`}
		for _, page := range []string{"gc", "gcrun"} {
			data := map[string]any{"Latest": &run, "Run": run, "Log": "collection 7"}
			out := live(page, data)
			if strings.Contains(out, `data-poll="1500"`) != polled || strings.Contains(out, "<html") || !strings.Contains(out, `data-status="`+status+`"`) {
				t.Errorf("%s, %s:\n%s", page, status, out)
			}
			if strings.Contains(out, "gc.status.") || !strings.Contains(out, "是") {
				t.Errorf("%s, %s: untranslated:\n%s", page, status, out)
			}
		}
	}
	for _, c := range []struct {
		status string
		polled bool
	}{{"Running", true}, {"Success", false}} {
		out := live("cveexport", map[string]any{"Exports": []workExport{{ID: 1, Status: c.status}}, "Active": workExport{Status: c.status}.Active()})
		if strings.Contains(out, "data-poll") != c.polled {
			t.Errorf("export %s:\n%s", c.status, out)
		}
	}
	out := live("scanners", map[string]any{"ScanAll": workScanAllStatus{Last: &workJob{ID: 3, State: "running"}, Running: 1, Active: true}})
	if !strings.Contains(out, "data-poll") || !strings.Contains(out, "运行中") {
		t.Errorf("scan-all running:\n%s", out)
	}
}

// The audit log's next page is the cursor of the API's Link rel="next".
func TestAdminWorkNextLink(t *testing.T) {
	q := nextLink(`</api/v2.0/audit-logs?page=2&page_size=15> ; rel="prev" , </api/v2.0/audit-logs?before=42&page=1&page_size=15&q=operation%3DLOGIN&skip=3>; rel="next"`)
	if q.Get("before") != "42" || q.Get("skip") != "3" || q.Get("page") != "1" {
		t.Errorf("next: %v", q)
	}
	if nextLink(`</x?page=1>; rel="prev"`) != nil || nextLink("") != nil {
		t.Error("a next link where there is none")
	}
}
