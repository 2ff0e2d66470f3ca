package browsertest

import (
	"testing"
	"time"
)

func TestSeedTiming(t *testing.T) {
	b := startBerth(t)
	b.api(t, "POST", "/projects", `{"project_name":"big"}`, 201)
	start := time.Now()
	b.seedTags(t, "big/many", 5000)
	t.Logf("5000 tags in %s", time.Since(start))
	start = time.Now()
	b.seedProjects(t, "p", 1000)
	t.Logf("1000 projects in %s", time.Since(start))
}
