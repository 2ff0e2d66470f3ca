package server

import (
	"io"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/berthreg/berth/internal/eventually"
	"github.com/berthreg/berth/internal/testbolt"
	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/replication"
	"github.com/berthreg/berth/storage"
	"github.com/berthreg/berth/webhook"
)

// TestRegistryMetrics pushes and pulls an image into a server with a
// webhook policy, an event-based replication policy and scans on push,
// and reads what the registry-wide collectors recorded: storage
// operations, metadata transactions and bbolt's group commits, the
// delivery job's attempt, the webhook delivery, the replication task
// and its bytes, the scan, the job queue, the repositories and
// manifests and the project's quota usage; and every metric the server
// registers passes promlint.
func TestRegistryMetrics(t *testing.T) {
	receiver := startReceiver(t, 204)
	store := testbolt.Open(t)
	ctx := t.Context()
	if err := store.Update(ctx, func(tx meta.Tx) error {
		return webhook.PolicyRecords.In(tx).Put(webhook.Policy{Name: "all", EventTypes: []string{"PUSH_ARTIFACT"}, Enabled: true,
			Targets: []webhook.Target{{Type: "http", Address: receiver.url}}})
	}); err != nil {
		t.Fatal(err)
	}
	// A job for later, which the queue collector counts as delayed.
	q, err := jobs.NewQueue(store)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Enqueue(ctx, jobs.Spec{Kind: "test.later", RunAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.DataDir = t.TempDir()
	cfg.Auth.Disabled = true
	cfg.Scan.AutoScan = true
	reg := prometheus.NewRegistry()
	host := serve(t, cfg, WithRegisterer(reg), WithStore(store))
	// Pushes to library are replicated to mirror on this same registry.
	if err := store.Update(ctx, func(tx meta.Tx) error {
		if err := replication.Registries.In(tx).Put(replication.Registry{Name: "self", URL: "http://" + host}); err != nil {
			return err
		}
		return replication.Policies.In(tx).Put(replication.PolicyRecord{Name: "mirror", Destination: "self", Enabled: true,
			Trigger: replication.TriggerEvent, Repositories: []string{"library/**"}, Namespace: "mirror", Flatten: 1})
	}); err != nil {
		t.Fatal(err)
	}

	pushAndPull(t, host+"/library/app:v1", 4096, 2)
	for _, c := range []struct {
		what  string
		name  string
		label map[string]string
	}{
		{"the delivery job", "berth_jobs_attempts_total", map[string]string{"kind": webhook.JobKind, "outcome": string(jobs.Succeeded)}},
		{"the replication", "berth_replication_task_attempts_total", map[string]string{"operation": replication.OpCopy, "outcome": "succeeded"}},
		{"the scan", "berth_scan_attempts_total", map[string]string{"result": "succeeded"}},
	} {
		eventually.True(t, c.what, func() bool { _, ok := seriesValue(t, reg, c.name, c.label); return ok })
	}

	for _, c := range []struct {
		what  string
		name  string
		label map[string]string
	}{
		{"blobs written", "berth_storage_operation_duration_seconds", map[string]string{"operation": storage.OpCommit, "result": "ok"}},
		{"blobs opened for pulls", "berth_storage_operation_duration_seconds", map[string]string{"operation": storage.OpOpen, "result": "ok"}},
		{"updates", "berth_meta_transaction_duration_seconds", map[string]string{"type": meta.OpUpdate, "result": "ok"}},
		{"views", "berth_meta_transaction_duration_seconds", map[string]string{"type": meta.OpView, "result": "ok"}},
		{"group commits", "berth_meta_commit_batches_total", nil},
		{"the delivery job", "berth_jobs_attempts_total", map[string]string{"kind": webhook.JobKind, "outcome": string(jobs.Succeeded)}},
		{"the delivery job's time", "berth_jobs_attempt_duration_seconds", map[string]string{"kind": webhook.JobKind}},
		{"the delivery", "berth_webhook_deliveries_total", map[string]string{"type": "http", "result": webhook.Delivered}},
		{"the job for later", "berth_jobs_queued", map[string]string{"kind": "test.later", "state": "delayed"}},
		{"the replication's bytes", "berth_replication_sent_bytes_total", nil},
		{"the scan's time", "berth_scan_duration_seconds", nil},
		{"the repository", "berth_registry_repositories", nil},
		{"the image", "berth_registry_manifests", nil},
	} {
		if v, ok := seriesValue(t, reg, c.name, c.label); !ok || v < 1 {
			t.Errorf("%s: %s%v = %v (%v), want at least 1", c.what, c.name, c.label, v, ok)
		}
	}
	if v, _ := seriesValue(t, reg, "berth_quota_used_bytes", map[string]string{"project": "library"}); v < 2*4096 {
		t.Errorf("library's quota usage %v, want at least the layers' bytes", v)
	}
	lintMetrics(t, reg)
}

// pushAndPull pushes a random image of layers layers of size bytes to
// ref and pulls it back, layers included; it returns the layers' bytes
// read.
func pushAndPull(t *testing.T, ref string, size int64, layers int64) int64 {
	t.Helper()
	img, err := random.Image(size, layers)
	if err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	pulled, err := remote.Image(r)
	if err != nil {
		t.Fatal(err)
	}
	ls, err := pulled.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, l := range ls {
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		m, err := io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		n += m
	}
	return n
}
