package cluster

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/berthreg/berth/internal/eventually"
	"github.com/berthreg/berth/registrytest"
)

// execution is the admin API's view of a replication execution.
type execution struct {
	ID      uint64 `json:"id"`
	Status  string `json:"status"`
	Total   int    `json:"total"`
	Succeed int    `json:"succeed"`
	Failed  int    `json:"failed"`
}

// TestReplicationSurvivesKill: a push-mode execution copies images to a
// registry that holds every request; once tasks are running, the
// instance running one of them is killed and the registry lets requests
// through. The killed instance's tasks run again on the others when
// their leases expire, the execution succeeds, and the destination has
// every image.
func TestReplicationSurvivesKill(t *testing.T) {
	c := need(t)
	cl := c.client(t)
	project := cl.project(t, "lb-repl")

	dest := registrytest.New(t)
	g := newGate()
	t.Cleanup(g.release)
	mux := http.NewServeMux()
	mux.Handle("/v2/", g.wrap(dest.Handler))
	mux.Handle("/v2/{$}", dest.Handler) // the ping goes through
	peer := httptest.NewServer(mux)
	t.Cleanup(peer.Close)

	const images = 8
	want := map[string]v1.Hash{}
	for i := range images {
		img, err := random.Image(32<<10, 2)
		if err != nil {
			t.Fatal(err)
		}
		tag := fmt.Sprintf("v%d", i)
		if err := cl.push(t, c.host, project+"/app:"+tag, img, 1); err != nil {
			t.Fatal(err)
		}
		want[tag], _ = img.Digest()
	}
	cl.must(t, c.url, "POST", "/registries", `{"name":"`+project+`","type":"berth","url":"`+peer.URL+`"}`, nil, http.StatusCreated)
	cl.must(t, c.url, "POST", "/replication/policies", `{"name":"`+project+`","dest_registry":{"name":"`+project+`"},
		"filters":[{"type":"name","value":"`+project+`/**"}],"trigger":{"type":"manual"},"enabled":true}`, nil, http.StatusCreated)
	h := cl.must(t, c.url, "POST", "/replication/executions", `{"policy_name":"`+project+`"}`, nil, http.StatusCreated)
	loc := strings.TrimPrefix(h.Get("Location"), "/api/v2.0")

	victim, held := cl.killRunner(t, g, "replication.task")
	g.release()
	var e execution
	eventually.True(t, "execution "+loc+" to end", func() bool {
		cl.must(t, c.url, "GET", loc, "", &e, http.StatusOK)
		return e.Status == "Succeed" || e.Status == "Failed" || e.Status == "Stopped"
	})
	if e.Status != "Succeed" || e.Total != images || e.Succeed != images {
		t.Errorf("execution %+v, want %d tasks succeeded", e, images)
	}
	cl.takenOver(t, held)
	for tag, d := range want {
		r, err := name.ParseReference(dest.Host+"/"+project+"/app:"+tag, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		img, err := remote.Image(r)
		if err != nil {
			t.Errorf("%s at the destination: %v", tag, err)
			continue
		}
		if got, _ := img.Digest(); got != d {
			t.Errorf("%s at the destination: %v, want %v", tag, got, d)
		} else if err := readAll(img); err != nil {
			t.Errorf("%s at the destination: %v", tag, err)
		}
	}
	t.Logf("killed instance %d holding task jobs %v; execution %d: %+v", victim.n, held, e.ID, e)
	c.restart(t, victim)
}
