package server

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// MetricsConfig says whether the main address serves the metrics too.
type MetricsConfig struct {
	// Token, when set, makes Handler serve the Prometheus metrics at
	// /metrics to requests bearing it (Authorization: Bearer <token>),
	// for a scraper that cannot reach the debug address
	// (BERTH_METRICS_TOKEN; at least 16 characters). Unset, the metrics
	// are on the debug address only.
	Token string `yaml:"token"`
	// HTTPOff turns off the request metrics (berth_http_*), for a host
	// that counts its requests itself (BERTH_METRICS_HTTP_OFF).
	HTTPOff bool `yaml:"httpOff"`
}

// minMetricsToken is the shortest metrics.token taken.
const minMetricsToken = 16

// validate checks the metrics settings.
func (c MetricsConfig) validate() error {
	if c.Token != "" && len(c.Token) < minMetricsToken {
		return errors.New("config: metrics.token must be at least 16 characters")
	}
	return nil
}

// metricsEndpoint serves g's metrics to requests bearing token; others
// get 401.
func metricsEndpoint(g prometheus.Gatherer, token string) http.Handler {
	metrics := promhttp.HandlerFor(g, promhttp.HandlerOpts{})
	want := []byte(token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			http.Error(w, "a metrics token is required", http.StatusUnauthorized)
			return
		}
		metrics.ServeHTTP(w, r)
	})
}
