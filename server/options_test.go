package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/events"
	"github.com/berthreg/berth/internal/eventually"
	"github.com/berthreg/berth/internal/testbolt"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/storage/memory"
)

// TestOptionsThatContradictTheConfig: New refuses options the
// configuration contradicts, naming the key.
func TestOptionsThatContradictTheConfig(t *testing.T) {
	nobody := auth.AuthenticatorFunc(func(context.Context, string, string) (auth.Principal, error) {
		return auth.Principal{}, auth.ErrBadCredentials
	})
	cases := map[string]struct {
		tune func(*Config)
		opts []Option
		key  string
	}{
		"storage driver": {func(c *Config) { c.Storage.Driver = "memory" }, []Option{WithStorage(memory.New())}, "storage.driver"},
		"storage fs":     {func(c *Config) { c.Storage.FS.NoSync = true }, []Option{WithStorage(memory.New())}, "storage.fs"},
		"auth disabled":  {func(c *Config) { c.Auth.Disabled = true }, []Option{WithAuthenticator(nobody)}, "auth.disabled"},
		"auth ldap":      {func(c *Config) { c.Auth.LDAP.URL = "ldap://127.0.0.1:1" }, []Option{WithAuthenticator(nobody)}, "auth.ldap.url"},
		"auth recheck":   {func(c *Config) { c.Auth.RecheckTokens = true }, []Option{WithAuthenticator(nobody)}, "auth.recheckTokens"},
		"bad config":     {func(c *Config) { c.Scan.Concurrency = 0 }, nil, "scan.concurrency"},
		"consumer name":  {nil, []Option{WithConsumers(Consumer{Handler: events.Func(func(context.Context, []meta.Event) error { return nil })})}, "WithConsumers"},
		"consumer taken": {nil, []Option{WithConsumers(Consumer{Name: "webhook", Handler: events.Func(func(context.Context, []meta.Event) error { return nil })})}, "webhook"},
		"consumer func":  {nil, []Option{WithConsumers(Consumer{Name: "mine"})}, "WithConsumers"},
		"consumer opts":  {nil, []Option{WithConsumers(Consumer{Name: "mine", Handler: events.Func(func(context.Context, []meta.Event) error { return nil }), Options: []events.ConsumerOption{events.WithPoll(-1)}})}, "WithPoll"},
		"scan builtin":   {func(c *Config) { on := true; c.Scan.Builtin = &on }, nil, "scan.builtin"},
		"quota warnAt":   {func(c *Config) { c.Quota.WarnAt = 101 }, nil, "quota.warnAt"},
		"quota limit":    {func(c *Config) { c.Quota.DefaultLimit = -2 }, nil, "quota.defaultLimit"},
		"quota schedule": {func(c *Config) { c.Quota.RecomputeSchedule = "every day" }, nil, "quota.recomputeSchedule"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := testConfig()
			cfg.DataDir = t.TempDir()
			if c.tune != nil {
				c.tune(&cfg)
			}
			srv, err := New(t.Context(), cfg, c.opts...)
			if err == nil {
				srv.Close()
			}
			if err == nil || !strings.Contains(err.Error(), c.key) {
				t.Fatalf("error %v does not name %s", err, c.key)
			}
		})
	}
}

// TestHostParts: a server on the host's store and driver, with the host's
// authenticator and a consumer of its own: the host's user pushes, the
// blobs land in the host's driver, the metadata in the host's store, the
// consumer sees the push; Close leaves the host's store open.
func TestHostParts(t *testing.T) {
	store := testbolt.Open(t)
	driver := memory.New()
	var mu sync.Mutex
	var seen []string
	consumer := Consumer{Name: "host-audit", Handler: events.Func(func(_ context.Context, batch []meta.Event) error {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range batch {
			seen = append(seen, e.Type+" "+e.Repository+":"+e.Tag+" by "+e.Operator)
		}
		return nil
	})}
	ciUser := auth.AuthenticatorFunc(func(_ context.Context, name, secret string) (auth.Principal, error) {
		if name == "ci" && secret == "ci-token" {
			return auth.Principal{Name: "ci", Kind: auth.User, Admin: true}, nil
		}
		return auth.Principal{}, auth.ErrBadCredentials
	})
	cfg := testConfig()
	cfg.DataDir = t.TempDir()
	cfg.Auth.AdminPassword = "admin-password"
	srv, err := New(t.Context(), cfg, WithStore(store), WithStorage(driver), WithAuthenticator(ciUser),
		WithConsumers(consumer), WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- srv.Run(ctx) }()
	ts := httptest.NewServer(srv.Handler())
	host := strings.TrimPrefix(ts.URL, "http://")

	ref, _ := name.ParseReference(host+"/library/app:v1", name.Insecure)
	img, _ := random.Image(512, 1)
	if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: "ci", Password: "ci-token"})); err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: "admin", Password: "admin-password"})); err == nil {
		t.Error("the server's own admin signed in past the host's authenticator")
	}
	// It sees everything from New on: the admin and the library project
	// the server made, then ci's push.
	eventually.True(t, "the host's consumer to see the push", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return slices.Contains(seen, "PUSH_ARTIFACT library/app:v1 by ci")
	})
	mu.Lock()
	if !slices.Contains(seen, "CREATE_PROJECT : by admin") {
		t.Errorf("host consumer saw %q, without the library project's creation", seen)
	}
	mu.Unlock()
	if _, err := driver.List(t.Context(), "blobs/sha256", "", 0); err != nil {
		t.Errorf("the host's driver holds no blobs: %v", err)
	}
	ts.Close()
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-ran; err != nil {
		t.Errorf("Run after Close: %v", err)
	}
	if err := srv.Run(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Run after Close: %v, want ErrClosed", err)
	}
	err = store.View(t.Context(), func(tx meta.Tx) error {
		_, err := tx.Repositories().Get("library/app")
		return err
	})
	if err != nil {
		t.Errorf("the host's store after Close: %v", err)
	}
	cancel()
}

// TestSharedRegistererRefused: a second server registering its metrics
// with the registerer of a first fails in New, named, instead of
// panicking.
func TestSharedRegistererRefused(t *testing.T) {
	reg := prometheus.NewRegistry()
	cfg := testConfig()
	cfg.DataDir = t.TempDir()
	cfg.Auth.Disabled = true
	start(t, cfg, WithRegisterer(reg))
	cfg.DataDir = t.TempDir()
	srv, err := New(t.Context(), cfg, WithRegisterer(reg))
	if err == nil {
		srv.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "WithRegisterer") {
		t.Fatalf("a second server on one registerer: %v", err)
	}
}
