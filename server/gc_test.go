package server

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/berthreg/berth/internal/eventually"
)

// TestGCThroughTheAPI: Harbor's /system/gc on the server: a
// manual collection runs as a job and deletes the untagged image, its
// history and log say so; a custom schedule fires collections until it is
// set to None.
func TestGCThroughTheAPI(t *testing.T) {
	cfg := testConfig()
	cfg.DataDir = t.TempDir()
	cfg.Auth.AdminPassword = "admin-password"
	metrics := prometheus.NewRegistry()
	srv := start(t, cfg, WithLogger(slog.New(slog.DiscardHandler)), WithRegisterer(metrics))
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	host := strings.TrimPrefix(ts.URL, "http://")
	api := ts.URL + "/api/v2.0"
	admin := []string{"basic", "admin:admin-password"}
	c := http.DefaultClient
	must := adminCaller(t, api, "admin-password")
	auth := remote.WithAuth(&authn.Basic{Username: "admin", Password: "admin-password"})
	ref, _ := name.ParseReference(host+"/library/app:old", name.Insecure)
	img, _ := random.Image(256, 2)
	if err := remote.Write(ref, img, auth); err != nil {
		t.Fatal(err)
	}
	if err := remote.Delete(ref, auth); err != nil {
		t.Fatal(err)
	}

	req, _ := http.NewRequest("POST", api+"/system/gc/schedule", strings.NewReader(`{"schedule":{"type":"Manual"},"parameters":{"delete_untagged":true,"grace_minutes":-1,"workers":2}}`))
	req.SetBasicAuth("admin", "admin-password")
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc := res.Header.Get("Location")
	if res.StatusCode != 201 || !strings.HasPrefix(loc, "/api/v2.0/system/gc/") {
		t.Fatalf("run now: %d, Location %q", res.StatusCode, loc)
	}
	path := strings.TrimPrefix(loc, "/api/v2.0")
	var h struct {
		JobStatus string `json:"job_status"`
		JobKind   string `json:"job_kind"`
		Progress  struct {
			Phase  string
			Report struct {
				DeletedManifests int
				DeletedBlobs     int
				FreedBytes       int64
			}
		}
	}
	eventually.True(t, "the collection to finish", func() bool {
		_ = json.Unmarshal([]byte(must("GET", path, "", 200)), &h)
		return h.JobStatus == "Success"
	})
	if h.JobKind != "MANUAL" || h.Progress.Phase != "done" || h.Progress.Report.DeletedManifests != 1 || h.Progress.Report.DeletedBlobs != 3 {
		t.Errorf("history entry %+v", h)
	}
	if log := must("GET", path+"/log", "", 200); !strings.Contains(log, "deleted: 1 manifests, 3 blobs") {
		t.Errorf("log: %s", log)
	}
	if out := must("GET", "/system/gc", "", 200); strings.Count(out, `"job_name":"GARBAGE_COLLECTION"`) != 1 {
		t.Errorf("history: %s", out)
	}
	if _, err := remote.Image(ref.Context().Digest(mustDigest(t, img)), auth); err == nil {
		t.Error("the untagged image is still there")
	}
	must("PUT", path, "", 409) // already finished: nothing to stop
	// The metrics say so too.
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(metrics, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, want := range []string{`berth_gc_runs_total{outcome="success"} 1`, `berth_gc_deleted{what="manifests"} 1`, `berth_gc_phase{phase="done"} 1`} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("metrics lack %s", want)
		}
	}

	// A schedule every second fires collections until set to None.
	must("PUT", "/system/gc/schedule", `{"schedule":{"type":"Custom","cron":"* * * * * *"},"parameters":{"delete_untagged":false}}`, 200)
	if out := must("GET", "/system/gc/schedule", "", 200); !strings.Contains(out, `"cron":"* * * * * *"`) || !strings.Contains(out, "next_scheduled_time") {
		t.Errorf("schedule: %s", out)
	}
	eventually.True(t, "a scheduled collection", func() bool {
		return strings.Contains(must("GET", "/system/gc", "", 200), `"job_kind":"SCHEDULE"`)
	})
	must("PUT", "/system/gc/schedule", `{"schedule":{"type":"None"},"parameters":{}}`, 200)
	if out := must("GET", "/system/gc/schedule", "", 200); !strings.Contains(out, `"type":"None"`) || strings.Contains(out, "next_scheduled_time") {
		t.Errorf("schedule after None: %s", out)
	}
	code, out := call(t, c, "PUT", api+"/system/gc/schedule", `{"schedule":{"type":"Custom","cron":"sometimes"}}`, admin...)
	if code != 400 || !strings.Contains(out, "schedule.cron") {
		t.Errorf("a bad cron: %d %s", code, out)
	}
	if code, _ := call(t, c, "GET", api+"/system/gc", ""); code != 401 {
		t.Errorf("anonymous history: %d", code)
	}
}

func mustDigest(t *testing.T, img v1.Image) string {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}
