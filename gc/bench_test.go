package gc

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/bolt"
	"github.com/berthreg/berth/registry"
	"github.com/berthreg/berth/storage/memory"
)

// BenchmarkCollect builds synthetic metadata in bbolt (BERTH_GC_MANIFESTS
// manifests, default 100000, in repositories of 100, each with a config
// and 9 layers of its own: ten blobs a manifest, so 1M blobs by default;
// every other manifest tagged), then measures the mark (a dry run) and a
// collection that deletes the untagged half, and push latency (one blob
// and one manifest, pushed one after the other) alone and while the
// collection runs. Storage is in memory. Run it with
//
//	go test ./gc -run '^$' -bench Collect -benchtime 1x -timeout 30m
func BenchmarkCollect(b *testing.B) {
	n := 100000
	if v, err := strconv.Atoi(os.Getenv("BERTH_GC_MANIFESTS")); err == nil && v > 0 {
		n = v
	}
	for range b.N {
		b.StopTimer()
		s, err := bolt.Open(filepath.Join(b.TempDir(), "meta.db"), bolt.NoSync())
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if err := synthesize(b.Context(), s, n); err != nil {
			b.Fatal(err)
		}
		b.Logf("synthesized %d manifests, %d blobs in %v", n, 10*n, time.Since(start).Round(time.Millisecond))
		drv := memory.New()
		c, err := NewCollector(s, drv)
		if err != nil {
			b.Fatal(err)
		}
		// The default grace window: the synthetic data is a day old, the
		// pushes measured here are fresh.
		opts := Options{DeleteUntagged: true}
		b.StartTimer()

		t0 := time.Now()
		dry := opts
		dry.DryRun = true
		plan, err := c.Run(b.Context(), dry)
		if err != nil {
			b.Fatal(err)
		}
		mark := time.Since(t0)

		h, err := registry.New(drv, s)
		if err != nil {
			b.Fatal(err)
		}
		srv := httptest.NewServer(h)
		quiet := pushLatencies(b, srv.URL, "quiet", 200)

		done := make(chan struct{})
		var rep Report
		var runErr error
		t1 := time.Now()
		go func() { defer close(done); rep, runErr = c.Run(context.Background(), opts) }()
		var during []time.Duration
		for i := 0; ; i++ {
			select {
			case <-done:
			default:
				during = append(during, pushLatencies(b, srv.URL, "during"+strconv.Itoa(i), 20)...)
				continue
			}
			break
		}
		total := time.Since(t1)
		srv.Close()
		if runErr != nil {
			b.Fatal(runErr)
		}
		if rep.DeletedManifests != len(plan.Plan.Manifests) || rep.DeletedBlobs != len(plan.Plan.Blobs) {
			b.Fatalf("deleted %d manifests, %d blobs; the dry run planned %d, %d", rep.DeletedManifests, rep.DeletedBlobs, len(plan.Plan.Manifests), len(plan.Plan.Blobs))
		}
		b.ReportMetric(mark.Seconds(), "mark-s")
		b.ReportMetric(total.Seconds(), "collect-s")
		b.ReportMetric(float64(rep.DeletedManifests), "manifests-deleted")
		b.ReportMetric(float64(rep.DeletedBlobs), "blobs-deleted")
		q50, q99 := pct(quiet, 50), pct(quiet, 99)
		d50, d99 := pct(during, 50), pct(during, 99)
		b.ReportMetric(float64(q50.Microseconds())/1000, "push-p50-ms")
		b.ReportMetric(float64(d50.Microseconds())/1000, "push-during-gc-p50-ms")
		b.Logf("mark (dry run) %v; collection %v deleting %d manifests and %d blobs (%d marked manifests, %d marked blobs)",
			mark.Round(time.Millisecond), total.Round(time.Millisecond), rep.DeletedManifests, rep.DeletedBlobs, plan.Plan.MarkedManifests, plan.Plan.MarkedBlobs)
		b.Logf("push latency without a collection: p50 %v p99 %v (%d pushes); during it: p50 %v p99 %v (%d pushes)",
			q50, q99, len(quiet), d50, d99, len(during))
		s.Close()
	}
}

// synthesize writes n manifests in repositories of 100, each with ten
// blobs of its own; every other one tagged.
func synthesize(ctx context.Context, s meta.Store, n int) error {
	const perTx = 500
	at := time.Now().Add(-24 * time.Hour)
	for start := 0; start < n; start += perTx {
		err := s.Update(ctx, func(tx meta.Tx) error {
			for i := start; i < min(start+perTx, n); i++ {
				repo := fmt.Sprintf("p%d/r%d", i/10000, i/100)
				if _, _, err := tx.Repositories().Ensure(repo); err != nil {
					return err
				}
				m := meta.Manifest{Digest: digest.FromString("m" + strconv.Itoa(i)), MediaType: "application/vnd.oci.image.manifest.v1+json", Size: 500, PushedAt: at}
				for j := range 10 {
					b := meta.Blob{Digest: digest.FromString(strconv.Itoa(i) + "/" + strconv.Itoa(j)), Size: 1 << 20, CreatedAt: at}
					if err := tx.Blobs().Link(repo, b); err != nil {
						return err
					}
					d := meta.Descriptor{Digest: b.Digest, Size: b.Size}
					if j == 0 {
						m.Config = d
					} else {
						m.Layers = append(m.Layers, d)
					}
				}
				if err := tx.Manifests().Put(repo, m); err != nil {
					return err
				}
				if i%2 == 0 {
					if err := tx.Tags().Put(repo, "t"+strconv.Itoa(i), m.Digest); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// pushLatencies pushes k small images (one blob, one manifest) one after
// the other and returns each push's time.
func pushLatencies(b *testing.B, base, tag string, k int) []time.Duration {
	out := make([]time.Duration, 0, k)
	empty := []byte("{}")
	res, err := http.Post(base+"/v2/bench/push/blobs/uploads/?digest="+digest.FromBytes(empty).String(), "application/octet-stream", bytes.NewReader(empty))
	if err != nil || res.StatusCode != http.StatusCreated {
		b.Fatalf("config push: %v %v", res, err)
	}
	res.Body.Close()
	for i := range k {
		blob := []byte(tag + "/" + strconv.Itoa(i) + "/" + time.Now().String())
		d := digest.FromBytes(blob)
		t0 := time.Now()
		res, err := http.Post(base+"/v2/bench/push/blobs/uploads/?digest="+d.String(), "application/octet-stream", bytes.NewReader(blob))
		if err != nil || res.StatusCode != http.StatusCreated {
			b.Fatalf("blob push: %v %v", res, err)
		}
		res.Body.Close()
		man := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"%s","size":%d}]}`, d, len(blob))
		req, _ := http.NewRequest(http.MethodPut, base+"/v2/bench/push/manifests/"+tag+"-"+strconv.Itoa(i), bytes.NewReader([]byte(man)))
		req.Header.Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
		res, err = http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusCreated {
			b.Fatalf("manifest push: %d", res.StatusCode)
		}
		out = append(out, time.Since(t0))
	}
	return out
}

func pct(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}
