package server

import (
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/berthreg/berth/proxy"
)

func TestProxyMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	observe, err := proxyMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	observe(proxy.Observation{Kind: "blob", Project: "hub", Upstream: "dockerhub", Bytes: 1000})
	observe(proxy.Observation{Kind: "blob", Project: "hub", Upstream: "dockerhub", Bytes: 24})
	observe(proxy.Observation{Kind: "manifest", Project: "hub", Upstream: "dockerhub", Err: errors.New("429")})
	observe(proxy.Observation{Kind: "stale", Project: "hub"})
	for name, c := range map[string]struct {
		got, want float64
	}{
		"blob fetches":    {counter(t, reg, "berth_proxy_upstream_fetches_total", map[string]string{"upstream": "dockerhub", "kind": "blob", "result": "success"}), 2},
		"failed manifest": {counter(t, reg, "berth_proxy_upstream_fetches_total", map[string]string{"upstream": "dockerhub", "kind": "manifest", "result": "failure"}), 1},
		"bytes":           {counter(t, reg, "berth_proxy_upstream_blob_bytes_total", map[string]string{"upstream": "dockerhub"}), 1024},
		"stale":           {counter(t, reg, "berth_proxy_stale_served_total", map[string]string{"project": "hub"}), 1},
	} {
		if c.got != c.want {
			t.Errorf("%s: %v, want %v", name, c.got, c.want)
		}
	}
	if _, err := proxyMetrics(reg); err == nil {
		t.Error("registering twice succeeded")
	}
}
