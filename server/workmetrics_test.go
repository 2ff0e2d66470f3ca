package server

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/berthreg/berth/replication"
	"github.com/berthreg/berth/scan/engine"
	"github.com/berthreg/berth/webhook"
)

func TestWorkMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	o, err := newObservers(reg)
	if err != nil {
		t.Fatal(err)
	}
	o.webhook(webhook.Observation{TargetType: "http", Result: webhook.Delivered, Status: 200, Took: time.Millisecond})
	o.webhook(webhook.Observation{TargetType: "slack", Result: webhook.Failed, Status: 503, Took: time.Millisecond})
	o.replication(replication.TaskAttempt{Operation: replication.OpCopy, Outcome: "succeeded", Bytes: 1000})
	o.replication(replication.TaskAttempt{Operation: replication.OpCopy, Outcome: "retried", Bytes: 24})
	o.scan(engine.ScanAttempt{Result: "succeeded", Took: time.Second})
	for name, c := range map[string]struct{ got, want float64 }{
		"delivered":      {counter(t, reg, "berth_webhook_deliveries_total", map[string]string{"type": "http", "result": "delivered"}), 1},
		"failed":         {counter(t, reg, "berth_webhook_deliveries_total", map[string]string{"type": "slack", "result": "failed"}), 1},
		"delivery times": {histogramCount(t, reg, "berth_webhook_delivery_duration_seconds", map[string]string{"type": "http"}), 1},
		"copied":         {counter(t, reg, "berth_replication_task_attempts_total", map[string]string{"operation": "copy", "outcome": "succeeded"}), 1},
		"retried":        {counter(t, reg, "berth_replication_task_attempts_total", map[string]string{"operation": "copy", "outcome": "retried"}), 1},
		"task times":     {histogramCount(t, reg, "berth_replication_task_duration_seconds", map[string]string{"operation": "copy"}), 2},
		"bytes":          {counter(t, reg, "berth_replication_sent_bytes_total", nil), 1024},
		"scans":          {counter(t, reg, "berth_scan_attempts_total", map[string]string{"result": "succeeded"}), 1},
		"scan times":     {histogramCount(t, reg, "berth_scan_duration_seconds", nil), 1},
	} {
		if c.got != c.want {
			t.Errorf("%s: %v, want %v", name, c.got, c.want)
		}
	}
	if _, err := newObservers(reg); err == nil {
		t.Error("registering twice succeeded")
	}
}
