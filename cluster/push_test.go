package cluster

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
)

// TestPushThroughBalancerPullFromEachInstance: images pushed through
// nginx (each request to whichever instance nginx picks, the token from
// whichever instance served the token request) are there, whole, on
// every instance, each pulled directly with its own token flow.
func TestPushThroughBalancerPullFromEachInstance(t *testing.T) {
	c := need(t)
	cl := c.client(t)
	repo := cl.project(t, "lb-push") + "/app"
	start := accessLogSize(t, c)

	pushed := map[string]v1.Hash{}
	for i, size := range []int64{1024, 64 << 10, 6 << 20, 2048} {
		img, err := random.Image(size, 2)
		if err != nil {
			t.Fatal(err)
		}
		tag := fmt.Sprintf("v%d", i)
		if err := cl.push(t, c.host, repo+":"+tag, img, 1); err != nil {
			t.Fatalf("push %s through the balancer: %v", tag, err)
		}
		pushed[tag], _ = img.Digest()
	}
	want := slices.Sorted(mapKeys(pushed))
	for _, in := range c.instances {
		for tag, d := range pushed {
			cl.verify(t, in.host, repo+":"+tag, d)
		}
		if got := cl.tags(t, in.host, repo); !slices.Equal(got, want) {
			t.Errorf("tags at instance %d: %v, want %v", in.n, got, want)
		}
	}
	// nginx spread the pushes over the instances.
	served := upstreamsSince(t, c, start, "PUT /v2/"+repo+"/")
	if len(served) < 2 {
		t.Errorf("the pushes' PUTs went to %v only, want at least two instances", served)
	}
	t.Logf("PUTs served by %v; answers: %s", served, cl.rec)
}

func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// accessLogSize is the size of nginx's access log now, where a later
// upstreamsSince starts reading.
func accessLogSize(t *testing.T, c *cluster) int64 {
	t.Helper()
	fi, err := os.Stat(c.accessLog)
	if err != nil {
		t.Fatalf("nginx access log (BERTH_NGINX_ACCESS_LOG): %v", err)
	}
	return fi.Size()
}

// accessLine is one request in nginx's access log.
type accessLine struct {
	request   string   // "PUT /v2/repo/manifests/tag"
	status    int      // nginx's answer
	upstreams []string // the instances nginx tried, in order
}

var accessRE = regexp.MustCompile(`"([A-Z]+ [^ ]+) HTTP/[0-9.]+" ([0-9]+) [0-9]+ upstream=(.*) \(`)

// accessSince reads nginx's access log from offset on.
func accessSince(t *testing.T, c *cluster, offset int64) []accessLine {
	t.Helper()
	b, err := os.ReadFile(c.accessLog)
	if err != nil {
		t.Fatal(err)
	}
	var out []accessLine
	for _, line := range strings.Split(string(b[offset:]), "\n") {
		m := accessRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		status, _ := strconv.Atoi(m[2])
		out = append(out, accessLine{request: m[1], status: status, upstreams: strings.Split(m[3], ", ")})
	}
	return out
}

// upstreamsSince lists the instances (host:port) that answered requests
// starting with prefix ("PUT /v2/repo/") since offset in nginx's access
// log, each once.
func upstreamsSince(t *testing.T, c *cluster, offset int64, prefix string) []string {
	t.Helper()
	var out []string
	for _, l := range accessSince(t, c, offset) {
		last := l.upstreams[len(l.upstreams)-1]
		if strings.HasPrefix(l.request, prefix) && !slices.Contains(out, last) {
			out = append(out, last)
		}
	}
	slices.Sort(out)
	return out
}
