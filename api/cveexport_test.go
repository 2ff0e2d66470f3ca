package api

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"golang.org/x/crypto/bcrypt"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/internal/eventually"
	"github.com/berthreg/berth/internal/testjobs"
	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/scan/cveexport"
)

// exportAPI serves the API of hubAPI with the CVE export; its jobs run
// unless stopped.
func exportAPI(t *testing.T, run bool) (string, uint64) {
	t.Helper()
	store := openStore(t)
	runner := testjobs.Runner(t, store, jobs.WithPoll(10*time.Millisecond))
	queue := testjobs.Queue(t, store, jobs.WithNotify(runner.Wake))
	// The service needs the accounts first: they are made here, as
	// newAPIOn makes them.
	m, err := accounts.New(t.Context(), store, accounts.WithHashCost(bcrypt.MinCost))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := cveexport.New(store, queue, m, m.Authorizer(), cveexport.WithPrincipals(m.Principal))
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"admin", "alice", "bob"} {
		if err := m.SetUser(t.Context(), u, u+"-password", u == "admin"); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(New(m, store, m, nil, WithJobs(queue), WithCVEExport(svc)))
	t.Cleanup(srv.Close)
	url := srv.URL
	admin := auth.Principal{Name: "admin", Kind: auth.User, Admin: true}
	for _, p := range []string{"team", "other"} {
		if err := m.CreateProject(t.Context(), admin, p, false); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.AddMember(t.Context(), admin, "team", "user", "alice", "developer"); err != nil {
		t.Fatal(err)
	}
	seedHub(t, store, hubImages)
	if run {
		svc.Register(runner)
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Go(func() { _ = runner.Run(ctx) })
		t.Cleanup(func() { cancel(); wg.Wait() })
	}
	team, err := m.GetProject(t.Context(), admin, "team")
	if err != nil {
		t.Fatal(err)
	}
	return url, team.ID
}

// startExport posts body as c and returns the export's id.
func startExport(c client, body string) string {
	c.t.Helper()
	_, out := c.want("POST", "/export/cve", body, 200, "")
	var job struct {
		ID uint64 `json:"id"`
	}
	if err := json.Unmarshal([]byte(out), &job); err != nil || job.ID == 0 {
		c.t.Fatalf("POST /export/cve: %s", out)
	}
	return strconv.FormatUint(job.ID, 10)
}

func TestCVEExport(t *testing.T) {
	url, teamID := exportAPI(t, true)
	alice := client{t, url, "alice", "alice-password"}
	bob := client{t, url, "bob", "bob-password"}
	client{t: t, url: url}.want("POST", "/export/cve", `{}`, 401, "UNAUTHORIZED")
	alice.want("POST", "/export/cve", `{"projects":["other"]}`, 404, "NOT_FOUND") // not hers to see
	alice.want("POST", "/export/cve", `{"projects":[true]}`, 400, "BAD_REQUEST")
	alice.want("POST", "/export/cve", `{"projects":[-1]}`, 400, "BAD_REQUEST")
	alice.want("POST", "/export/cve", `{"repositories":"[a"}`, 400, "BAD_REQUEST")
	alice.want("POST", "/export/cve", `{"format":"pdf"}`, 400, "BAD_REQUEST")
	req, _ := http.NewRequest("POST", url+Prefix+"/export/cve", strings.NewReader(`{}`))
	req.SetBasicAuth("alice", "alice-password")
	req.Header.Set("X-Scan-Data-Type", "application/spdx+json")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 400 {
		t.Errorf("a foreign X-Scan-Data-Type: %v %v", resp.Status, err)
	}

	// Every project alice may pull from: team, not other.
	id := startExport(alice, `{"job_name":"mine","cveIds":"CVE-2023-5363,CVE-2022-48174,CVE-2024-0001"}`)
	var ex cveExportJSON
	eventually.True(t, "the export to finish", func() bool {
		_, out := alice.want("GET", "/export/cve/execution/"+id, "", 200, "")
		return json.Unmarshal([]byte(out), &ex) == nil && ex.Status != cveexport.StatusPending && ex.Status != cveexport.StatusRunning
	})
	if ex.Status != "Success" || !ex.FilePresent || ex.UserName != "alice" || ex.JobName != "mine" || ex.Rows != 2 || ex.Trigger != "MANUAL" {
		t.Errorf("the execution: %+v", ex)
	}
	resp, out := alice.want("GET", "/export/cve/download/"+id, "", 200, "")
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") ||
		resp.Header.Get("Content-Disposition") != `attachment; filename="cve_export_`+id+`.csv"` {
		t.Errorf("download headers %v", resp.Header)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(rows) != 3 || !slices.Equal(rows[0], cveexport.Header) {
		t.Fatalf("the CSV (%v):\n%s", err, out)
	}
	d := digest.FromString("image team/app").String()
	want := [][]string{
		{"team", "team/app", d, "v1", "CVE-2022-48174", "busybox", "1.36.1-r0", "1.36.1-r1", "Critical", "9.8", "", "", "", "Berth"},
		{"team", "team/app", d, "v1", "CVE-2023-5363", "libssl3", "3.1.1-r1", "3.1.4-r0", "High", "7.5", "", "", "openssl: incorrect cipher key", "Berth"},
	}
	if !slices.EqualFunc(rows[1:], want, slices.Equal) {
		t.Errorf("rows %q, want %q", rows[1:], want)
	}

	// Only alice sees and downloads hers.
	bob.want("GET", "/export/cve/execution/"+id, "", 404, "NOT_FOUND")
	bob.want("GET", "/export/cve/download/"+id, "", 404, "NOT_FOUND")
	client{t, url, "admin", "admin-password"}.want("GET", "/export/cve/download/"+id, "", 404, "NOT_FOUND")
	_, out = bob.want("GET", "/export/cve/executions", "", 200, "")
	if strings.TrimSpace(out) != `{"items":[]}` {
		t.Errorf("bob's exports: %s", out)
	}
	second := startExport(alice, `{"projects":[`+jsonUint(teamID)+`],"repositories":"app","tags":"v*"}`)
	_, out = alice.want("GET", "/export/cve/executions", "", 200, "")
	var list struct{ Items []cveExportJSON }
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list.Items) != 2 || strconv.FormatUint(list.Items[0].ID, 10) != second {
		t.Errorf("alice's exports: %s", out)
	}
	alice.want("GET", "/export/cve/download/x", "", 400, "BAD_REQUEST")
	alice.want("GET", "/export/cve/execution/0", "", 400, "BAD_REQUEST")
	alice.want("GET", "/export/cve/download/99999", "", 404, "NOT_FOUND")
}

// TestCVEExportNotFinished: an export whose job has not run has no file.
func TestCVEExportNotFinished(t *testing.T) {
	url, _ := exportAPI(t, false)
	alice := client{t, url, "alice", "alice-password"}
	id := startExport(alice, `{}`)
	_, out := alice.want("GET", "/export/cve/execution/"+id, "", 200, "")
	if !strings.Contains(out, `"status":"Pending"`) || !strings.Contains(out, `"file_present":false`) {
		t.Errorf("a waiting export: %s", out)
	}
	alice.want("GET", "/export/cve/download/"+id, "", 404, "NOT_FOUND")
}

// TestCVEExportUnconfigured: without the service the endpoints are 501.
func TestCVEExportUnconfigured(t *testing.T) {
	url, _ := newAPI(t)
	client{t, url, "alice", "alice-password"}.want("POST", "/export/cve", `{}`, 501, "NOT_IMPLEMENTED")
	client{t, url, "alice", "alice-password"}.want("GET", "/export/cve/executions", "", 501, "NOT_IMPLEMENTED")
}
