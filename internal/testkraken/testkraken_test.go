package testkraken

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"os"
	"syscall"
	"testing"
	"time"
)

// TestStartAndStop starts Kraken (its registry backend pointing at a port
// nobody listens on: nothing here pulls), checks that its three
// components answer their health checks, and that once the test that
// started it ends, nothing listens on their ports any more and the nginx
// configurations Kraken generated under /tmp/nginx are gone.
func TestStartAndStop(t *testing.T) {
	Bin(t)
	var k *Kraken
	t.Run("run", func(t *testing.T) {
		k = Start(t, "127.0.0.1:9")
		for _, u := range []string{k.ProxyURL, k.OriginURL, k.BuildIndexURL} {
			resp, err := http.Get(u + "/health")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("GET %s/health: %s", u, resp.Status)
			}
		}
		for _, p := range k.procs {
			if _, err := os.Stat(p.genned); err != nil {
				t.Errorf("the %s's nginx configuration: %v", p.name, err)
			}
		}
	})
	for _, u := range []string{k.ProxyURL, k.OriginURL, k.BuildIndexURL} {
		host := mustHost(t, u)
		var d net.Dialer
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c, err := d.DialContext(ctx, "tcp", host)
		cancel()
		if err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after the test that started Kraken ended", host)
		}
	}
	for _, p := range k.procs {
		if _, err := os.Stat(p.genned); !os.IsNotExist(err) {
			t.Errorf("the %s's nginx configuration %s is left: %v", p.name, p.genned, err)
		}
		if err := syscall.Kill(-p.cmd.Process.Pid, 0); err == nil {
			t.Errorf("the %s's process group %d is left", p.name, p.cmd.Process.Pid)
		}
	}
}

func mustHost(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}
