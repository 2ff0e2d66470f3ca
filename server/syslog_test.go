package server

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/berthreg/berth/events"
	"github.com/berthreg/berth/internal/eventually"
	"github.com/berthreg/berth/internal/testbolt"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/storage/memory"
)

// TestAuditToSyslog: the audit forwarder sends each new event to a syslog
// server (a UDP listener here), one message per event.
func TestAuditToSyslog(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	store := testbolt.Open(t)
	fwd, err := syslogForwarder(store, "udp://"+pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	if err := fwd.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := store.Update(t.Context(), func(tx meta.Tx) error {
		_, err := tx.Events().Append(meta.Event{Type: events.PushArtifact, Operator: "alice", Repository: "team/app", Tag: "v1", Project: "team"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if n, err := fwd.Step(t.Context()); n != 1 || err != nil {
		t.Fatalf("Step = %d, %v", n, err)
	}
	buf := make([]byte, 2048)
	_ = pc.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _, err := pc.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	msg := string(buf[:n])
	for _, want := range []string{"berth-audit", `operator="alice"`, "operation=PUSH_ARTIFACT", `resource="team/app:v1"`, "result=success"} {
		if !strings.Contains(msg, want) {
			t.Errorf("syslog message %q lacks %q", msg, want)
		}
	}
	if _, err := syslogForwarder(store, "udp://127.0.0.1:bad"); err == nil {
		t.Error("a bad syslog address was accepted")
	}
}

// TestScheduledAuditPurge: with a retention, the purge job fires on its
// cron schedule and deletes the events older than the retention only.
func TestScheduledAuditPurge(t *testing.T) {
	store := testbolt.Open(t)
	if err := store.Update(t.Context(), func(tx meta.Tx) error {
		for _, at := range []time.Time{time.Now().Add(-48 * time.Hour), time.Now()} {
			if _, err := tx.Events().Append(meta.Event{Type: events.Login, Time: at}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.DataDir = t.TempDir()
	cfg.Auth.Disabled = true
	cfg.Events.AuditRetention, cfg.Events.AuditPurgeSchedule = 24*time.Hour, "* * * * * *"
	start(t, cfg, WithStore(store), WithStorage(memory.New()), WithLogger(slog.New(slog.DiscardHandler)))
	left := func() []meta.Event {
		var evs []meta.Event
		_ = store.View(context.Background(), func(tx meta.Tx) error { evs, _ = tx.Events().List(0, 0); return nil })
		return evs
	}
	eventually.True(t, "the old event to be purged", func() bool { return len(left()) == 1 })
	if evs := left(); evs[0].Seq != 2 {
		t.Errorf("left %+v, want the recent event", evs)
	}
	cfg.Events.AuditPurgeSchedule = "whenever"
	if srv, err := New(t.Context(), cfg, WithStore(store), WithStorage(memory.New())); err == nil || !strings.Contains(err.Error(), "events.auditPurgeSchedule") {
		if srv != nil {
			srv.Close()
		}
		t.Errorf("a bad purge schedule: %v", err)
	}
}
