package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/events"
	"github.com/berthreg/berth/internal/eventually"
	"github.com/berthreg/berth/internal/testjobs"
	"github.com/berthreg/berth/internal/teststores"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/scan"
)

func TestScanOnPushOncePerEventAcrossInstances(t *testing.T) {
	teststores.Each(t, testScanOnPushOncePerEventAcrossInstances)
}

// testScanOnPushOncePerEventAcrossInstances: three instances' engines
// consume the event log under the one cursor; each pushed image gets
// exactly one scan job.
func testScanOnPushOncePerEventAcrossInstances(t *testing.T, open teststores.Opener) {
	s := open(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 3)
	t.Cleanup(func() {
		cancel()
		for range 3 {
			<-done
		}
	})
	for range 3 {
		e, err := New(s, WithQueue(testjobs.Queue(t, s)), WithAutoScan(true))
		if err != nil {
			t.Fatal(err)
		}
		c, err := events.NewConsumer(s, ConsumerName, events.TxFunc(e.Consume), events.WithFrom(events.FromNow),
			events.WithPoll(time.Millisecond), events.WithBatch(3))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Init(t.Context()); err != nil {
			t.Fatal(err)
		}
		go func() { defer func() { done <- struct{}{} }(); _ = c.Run(ctx) }()
	}
	const repo = "team/app"
	var pushed []digest.Digest
	for round := range 15 {
		var got []digest.Digest
		if err := s.Update(t.Context(), func(tx meta.Tx) error {
			got = nil // the function may run more than once
			if _, _, err := tx.Repositories().Ensure(repo); err != nil {
				return err
			}
			for i := range 1 + round%3 {
				d := digest.FromString(fmt.Sprintf("image %d.%d", round, i))
				m := meta.Manifest{Digest: d, MediaType: scan.MimeOCIManifest, Size: 100, PushedAt: time.Now().UTC(),
					Config: meta.Descriptor{MediaType: imageConfigTypes[0], Digest: digest.FromString("config " + d.String()), Size: 10}}
				if err := tx.Manifests().Put(repo, m); err != nil {
					return err
				}
				if _, err := tx.Events().Append(meta.Event{Type: events.PushArtifact, Repository: repo, Digest: d.String(), MediaType: m.MediaType}); err != nil {
					return err
				}
				got = append(got, d)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		pushed = append(pushed, got...)
		time.Sleep(time.Millisecond)
	}
	var last uint64
	_ = s.View(t.Context(), func(tx meta.Tx) error { last, _ = tx.Events().Last(); return nil })
	eventually.True(t, "the consumers at the end of the log", func() bool {
		cur, err := events.Cursor(t.Context(), s, ConsumerName)
		return err == nil && cur == last
	})
	var scans []meta.Job
	if err := s.View(t.Context(), func(tx meta.Tx) error {
		var err error
		scans, err = tx.Jobs().List(meta.JobFilter{Kind: ScanKind}, 0, 0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	count := map[digest.Digest]int{}
	for _, j := range scans {
		var p payload
		if err := json.Unmarshal(j.Payload, &p); err != nil {
			t.Fatal(err)
		}
		count[p.Digest]++
	}
	for _, d := range pushed {
		if count[d] != 1 {
			t.Errorf("push of %s: %d scan jobs, want 1", d, count[d])
		}
	}
	if len(scans) != len(pushed) {
		t.Errorf("%d scan jobs for %d pushes", len(scans), len(pushed))
	}
}
