package trust

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/generation"
	"github.com/berthreg/berth/internal/fillcache"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/storage"
)

// Generation is the change counter bumped with every settings change.
const Generation = "trust.settings"

// Verifier checks signatures; trust/cosign's Verifier is one.
type Verifier interface {
	// CheckKey reports why a PEM public key cannot be used.
	CheckKey(pemKey string) error
	// CheckIdentity reports why a keyless identity cannot be used (no
	// trusted root to check certificates with, a bad expression).
	CheckIdentity(id Identity) error
	// VerifyLegacy checks a cosign signature in its legacy form of
	// manifest d: it verifies when one of by signed it.
	VerifyLegacy(sig LegacySignature, d digest.Digest, by Signers) error
	// VerifyBundle checks a Sigstore bundle about manifest d: it verifies
	// when one of by signed it.
	VerifyBundle(bundle []byte, d digest.Digest, by Signers) error
}

// Service keeps the projects' content trust settings and decides pulls.
// Make one with New.
type Service struct {
	store    meta.Store
	driver   storage.Driver
	verifier Verifier
	watcher  *generation.Watcher
	ttl      time.Duration
	now      func() time.Time

	// settings caches each project's settings once the watcher polled.
	settings *fillcache.Cache[string, Settings]
	live     atomic.Bool
	// verified caches the manifests found signed: repo@digest → when.
	mu       sync.Mutex
	verified map[string]time.Time
}

// Option configures a Service made by New.
type Option func(*Service)

// WithWatcher keeps each project's settings in memory, forgotten when w
// sees Generation or accounts.PolicyGeneration move.
func WithWatcher(w *generation.Watcher) Option { return func(s *Service) { s.watcher = w } }

// WithVerifiedFor sets how long a manifest found signed stays so without
// looking again (default 1 minute): how long a signature deleted on
// another instance may still let pulls through here. Settings changes
// forget every result at once.
func WithVerifiedFor(d time.Duration) Option { return func(s *Service) { s.ttl = d } }

// WithClock sets the clock (default time.Now).
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// maxVerified bounds the results kept.
const maxVerified = 100000

// New returns the content trust service over store and driver (the
// registry's), checking signatures with verifier.
func New(store meta.Store, driver storage.Driver, verifier Verifier, opts ...Option) (*Service, error) {
	s := &Service{store: store, driver: driver, verifier: verifier, ttl: time.Minute, now: time.Now,
		settings: fillcache.New[string, Settings](10000), verified: map[string]time.Time{}}
	for _, o := range opts {
		o(s)
	}
	switch {
	case store == nil || driver == nil || verifier == nil:
		return nil, errors.New("trust: New: nil store, driver or verifier")
	case s.ttl < 0:
		return nil, errors.New("trust: New: WithVerifiedFor must not be negative")
	}
	if s.watcher != nil {
		if err := fillcache.ResetOn(s.settings, &s.live, s.watcher, Generation, accounts.PolicyGeneration); err != nil {
			return nil, err
		}
		if err := s.watcher.Watch(Generation, func(context.Context) error { s.forgetVerified(); return nil }); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Settings returns project's settings (disabled, without keys, when it
// has none).
func (s *Service) Settings(ctx context.Context, project string) (Settings, error) {
	var out Settings
	err := s.store.View(ctx, func(tx meta.Tx) error {
		if _, err := accounts.Projects.In(tx).Get(project); err != nil {
			return meta.NotFoundAs(err, ErrNotFound, "project "+project)
		}
		var err error
		out, err = settingsIn(tx, project)
		return err
	})
	return out, err
}

func settingsIn(tx meta.Tx, project string) (Settings, error) {
	st, err := settings.In(tx).Get(project)
	if errors.Is(err, meta.ErrNotFound) {
		return Settings{Project: project}, nil
	}
	return st, err
}

// SetSettings checks and stores st (its project must exist); results
// verified under the old settings are forgotten.
func (s *Service) SetSettings(ctx context.Context, st Settings) (Settings, error) {
	if err := st.check(s.verifier); err != nil {
		return st, err
	}
	st.UpdatedAt = s.now().UTC()
	err := s.store.Update(ctx, func(tx meta.Tx) error {
		if _, err := accounts.Projects.In(tx).Get(st.Project); err != nil {
			return meta.NotFoundAs(err, ErrNotFound, "project "+st.Project)
		}
		if err := settings.In(tx).Put(st); err != nil {
			return err
		}
		return generation.Bump(tx, Generation)
	})
	if err == nil {
		s.settings.Reset()
		s.forgetVerified()
	}
	return st, err
}

// DeleteProject deletes project's settings: accounts.WithProjectCleanup
// runs it when a project is deleted.
func (s *Service) DeleteProject(tx meta.Tx, project string, _ time.Time) error {
	if err := settings.In(tx).Delete(project); err != nil && !errors.Is(err, meta.ErrNotFound) {
		return err
	}
	return generation.Bump(tx, Generation)
}

func (s *Service) forgetVerified() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.verified)
}

// wasVerified reports whether manifest d of repo was found signed within
// the last WithVerifiedFor.
func (s *Service) wasVerified(repo string, d digest.Digest) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	at, ok := s.verified[repo+"@"+d.String()]
	return ok && s.now().Sub(at) < s.ttl
}

func (s *Service) noteVerified(repo string, d digest.Digest) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.verified) >= maxVerified {
		clear(s.verified)
	}
	s.verified[repo+"@"+d.String()] = s.now()
}

// forget drops what is known verified of repo's manifests (a signature
// there was deleted).
func (s *Service) forget(repo string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.verified {
		if len(k) > len(repo) && k[:len(repo)+1] == repo+"@" {
			delete(s.verified, k)
		}
	}
}
