package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/berthreg/berth/internal/eventually"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/bolt"
	"github.com/berthreg/berth/webhook"
)

// TestKilledServerDeliversEveryAcknowledgedPush: images are pushed while
// the webhook receiver is down and the server is SIGKILLed in the middle
// of the pushes; after a restart and more pushes, the receiver comes up
// and gets every push that was acknowledged, at least once.
func TestKilledServerDeliversEveryAcknowledgedPush(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the server")
	}
	bin := childBinary(t)
	dataDir, addr, hookAddr := t.TempDir(), freeAddr(t), freeAddr(t)
	// The policy, written where the server will find it.
	store, err := bolt.Open(filepath.Join(dataDir, "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Update(t.Context(), func(tx meta.Tx) error {
		return webhook.PolicyRecords.In(tx).Put(webhook.Policy{Name: "all", EventTypes: []string{"PUSH_ARTIFACT"}, Enabled: true,
			Targets: []webhook.Target{{Type: "http", Address: "http://" + hookAddr + "/hook"}}})
	}); err != nil {
		t.Fatal(err)
	}
	store.Close()
	// A short lease: deliveries the killed server was making run again
	// soon after the restart.
	env := []string{"BERTH_JOB_LEASE=2s", "BERTH_WEBHOOK_BACKOFF=50ms", "BERTH_WEBHOOK_MAX_BACKOFF=300ms", "BERTH_WEBHOOK_MAX_ATTEMPTS=1000000"}
	srv := startServer(t, bin, dataDir, addr, env...)

	acked := map[string]string{} // tag → digest, for pushes the server acknowledged
	push := func(tag string) error {
		ref, err := name.ParseReference(addr+"/team/app:"+tag, name.Insecure)
		if err != nil {
			return err
		}
		img, err := random.Image(256, 1)
		if err != nil {
			return err
		}
		if err := remote.Write(ref, img); err != nil {
			return err
		}
		d, _ := img.Digest()
		acked[tag] = d.String()
		return nil
	}
	// Push until the kill lands: it comes after the tenth acknowledgement,
	// while the pushes go on.
	killed := make(chan struct{})
	var once sync.Once
	for i := 0; ; i++ {
		if len(acked) == 10 {
			go once.Do(func() { srv.kill(); close(killed) })
		}
		if err := push(fmt.Sprintf("before-%d", i)); err != nil {
			select {
			case <-killed:
			case <-time.After(10 * time.Second):
				t.Fatalf("push %d failed without a kill: %v", i, err)
			}
			break
		}
		if i > 500 {
			t.Fatal("the kill never stopped the pushes")
		}
	}
	<-killed
	before := len(acked)
	srv = startServer(t, bin, dataDir, addr, env...)
	for i := range 10 {
		if err := push(fmt.Sprintf("after-%d", i)); err != nil {
			t.Fatal(err)
		}
	}

	// The receiver comes up.
	var mu sync.Mutex
	got := map[string]int{}
	ln, err := net.Listen("tcp", hookAddr)
	if err != nil {
		t.Fatal(err)
	}
	rs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p webhook.Payload
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &p); err == nil {
			mu.Lock()
			for _, res := range p.EventData.Resources {
				got[res.Tag+"@"+res.Digest]++
			}
			mu.Unlock()
		}
		w.WriteHeader(http.StatusOK)
	})}
	go func() { _ = rs.Serve(ln) }()
	defer rs.Shutdown(context.Background())

	missing := func() []string {
		mu.Lock()
		defer mu.Unlock()
		var out []string
		for tag, d := range acked {
			if got[tag+"@"+d] == 0 {
				out = append(out, tag)
			}
		}
		return out
	}
	lastLog := time.Now()
	eventually.True(t, "every acknowledged push to be delivered", func() bool {
		m := missing()
		if len(m) > 0 && time.Since(lastLog) > 2*time.Second {
			t.Logf("not yet delivered: %v", m)
			lastLog = time.Now()
		}
		return len(m) == 0
	})
	mu.Lock()
	dup := 0
	for _, n := range got {
		dup += n - 1
	}
	mu.Unlock()
	t.Logf("%d pushes acknowledged before the kill, %d after the restart; all delivered (%d duplicate deliveries)", before, len(acked)-before, dup)
}
