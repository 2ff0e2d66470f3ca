package engine

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/generation"
	"github.com/berthreg/berth/internal/testbolt"
	"github.com/berthreg/berth/internal/txcount"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/registry"
	"github.com/berthreg/berth/scan"
)

// watchedGate returns a gate over store with a watcher of base that
// polls only when the test calls Poll.
func watchedGate(t *testing.T, base, store meta.Store) (*Gate, *generation.Watcher) {
	t.Helper()
	w, err := generation.NewWatcher(base, generation.WithTicks(make(chan time.Time)))
	if err != nil {
		t.Fatal(err)
	}
	g, err := NewGate(store, WithGateWatcher(w))
	if err != nil {
		t.Fatal(err)
	}
	return g, w
}

// TestGateKeepsSettingsInStep checks the gate WithGateWatcher: it stops
// reading the project on every pull once its watcher has polled, sees a
// change made in this process through ProjectSettings or accounts before
// the call returns, and one made by another instance at its watcher's
// next poll (the documented bound), never later.
func TestGateKeepsSettingsInStep(t *testing.T) {
	ctx := context.Background()
	base := testbolt.Open(t)
	store := txcount.New(base)
	gate, w := watchedGate(t, base, store)
	manager, err := accounts.New(ctx, base, accounts.WithWatcher(w), accounts.WithHashCost(4))
	if err != nil {
		t.Fatal(err)
	}
	admin := auth.Principal{Name: "admin", Kind: auth.User, Admin: true}
	if err := manager.CreateProject(ctx, admin, "team", false); err != nil {
		t.Fatal(err)
	}
	here := NewProjectSettings(base, WithSettingsWatcher(w))
	elsewhere := NewProjectSettings(base) // another instance's, which this watcher does not hear
	image := &meta.Manifest{Digest: digest.FromString("an image"), MediaType: scan.MimeOCIManifest,
		Config: meta.Descriptor{MediaType: imageConfigTypes[0]}}
	req, _ := http.NewRequest(http.MethodGet, "http://registry/v2/team/app/manifests/v1", nil)
	pull := func() error {
		return gate.beforePull(ctx, &registry.Event{Action: registry.ActionPullManifest, Repository: "team/app",
			Digest: image.Digest, Manifest: image, Request: req})
	}
	reads := func(what string, want int64, do func()) {
		t.Helper()
		before := store.Views()
		do()
		if got := store.Views() - before; got != want {
			t.Fatalf("%s: %d reads of the store, want %d", what, got, want)
		}
	}
	allowed := func(what string) {
		t.Helper()
		if err := pull(); err != nil {
			t.Fatalf("%s: pull refused: %v", what, err)
		}
	}
	refused := func(what string) {
		t.Helper()
		if err := pull(); err == nil || !strings.Contains(err.Error(), "not been scanned") {
			t.Fatalf("%s: pull not refused as unscanned: %v", what, err)
		}
	}
	deny := func(s *ProjectSettings, on bool) {
		t.Helper()
		if err := s.Update(ctx, "team", SettingsChange{DenyUnscanned: &on}); err != nil {
			t.Fatal(err)
		}
	}

	// A gate whose watcher has not polled yet reads every pull's project.
	cold, _ := watchedGate(t, base, store)
	for range 2 {
		reads("a pull before the watcher has polled", 1, func() {
			if err := cold.beforePull(ctx, &registry.Event{Action: registry.ActionPullManifest, Repository: "team/app",
				Digest: image.Digest, Manifest: image, Request: req}); err != nil {
				t.Fatal(err)
			}
		})
	}

	// Repositories outside any project (a registry without accounts)
	// are read once too, until a project is made.
	outside := func() error {
		return gate.beforePull(ctx, &registry.Event{Action: registry.ActionPullManifest, Repository: "loose/app",
			Digest: image.Digest, Manifest: image, Request: req})
	}
	if err := w.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	reads("a pull outside any project", 1, func() { _ = outside() })
	reads("a later pull outside any project", 0, func() { _ = outside() })

	// The project "team" is known now.
	reads("the first pull once watched", 1, func() { allowed("no settings") })
	reads("a later pull", 0, func() { allowed("no settings") })

	deny(here, true)
	refused("denied here")
	deny(elsewhere, false)
	refused("allowed elsewhere, before this watcher's poll")
	if err := w.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	allowed("allowed elsewhere, after this watcher's poll")

	// A project deleted and made again under its name starts with no
	// settings, here at once.
	deny(here, true)
	refused("denied again")
	if err := manager.DeleteProject(ctx, "team"); err != nil {
		t.Fatal(err)
	}
	if err := manager.CreateProject(ctx, admin, "team", false); err != nil {
		t.Fatal(err)
	}
	allowed("the project made again")
}
