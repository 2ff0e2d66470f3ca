package engine

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/generation"
	"github.com/berthreg/berth/internal/fillcache"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/registry"
	"github.com/berthreg/berth/registry/naming"
	"github.com/berthreg/berth/scan"
)

// CodePolicyViolation is the error code of a pull the gate refuses
// (Harbor's, with status 412).
const CodePolicyViolation = registry.CodePolicyViolation

// Gate is the pull gate: registry hooks that refuse manifest pulls of
// images that a project's scanning settings forbid (a vulnerability at or
// above its severity that the allowlist does not cover, or no finished
// scan when it denies unscanned images). An index is refused when one of
// its images is. WithExempt lets some pulls through (the scanners' own).
// Make one with NewGate.
type Gate struct {
	store   meta.Store
	exempt  func(ctx context.Context, ev *registry.Event) bool
	now     func() time.Time
	watcher *generation.Watcher
	// settings holds each project's gate, read from the store, once the
	// watcher has started (live): see WithGateWatcher.
	settings *fillcache.Cache[string, scan.Gate]
	live     atomic.Bool
}

// gateCacheSize bounds the projects whose gate a Gate keeps in memory.
const gateCacheSize = 10000

// GateOption configures a Gate made by NewGate.
type GateOption func(*Gate)

// WithExempt makes the gate let through the pulls f reports (default:
// none).
func WithExempt(f func(ctx context.Context, ev *registry.Event) bool) GateOption {
	return func(g *Gate) { g.exempt = f }
}

// WithGateWatcher makes the gate keep each project's gate (its scanning
// settings) in memory instead of reading the project on every pull, and
// empty it whenever w sees ProjectScanGeneration or
// accounts.PolicyGeneration move (a project created or deleted). Another
// instance's change so reaches this one within w's bound (see package
// generation); settings changed through ProjectSettings, or a project
// created through accounts.Manager, in this process with the same watcher
// apply before the call returns (a deletion alone at w's next poll). Until w has polled once the gate reads every pull's project.
// A host that writes project records itself, without bumping, is seen at
// w's resync.
func WithGateWatcher(w *generation.Watcher) GateOption {
	return func(g *Gate) { g.watcher = w }
}

// NewGate returns the pull gate over store, which holds the projects and
// the scan reports (the registry's metadata store).
func NewGate(store meta.Store, opts ...GateOption) (*Gate, error) {
	if store == nil {
		return nil, errors.New("scan: NewGate: nil store")
	}
	g := &Gate{store: store}
	for _, o := range opts {
		o(g)
	}
	if g.watcher != nil {
		g.settings = fillcache.New[string, scan.Gate](gateCacheSize)
		if err := fillcache.ResetOn(g.settings, &g.live, g.watcher, ProjectScanGeneration, accounts.PolicyGeneration); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// Hooks returns the gate's registry hooks.
func (g *Gate) Hooks() registry.Hooks {
	return registry.Hooks{BeforePull: g.beforePull}
}

// GateOf is the scan.Gate of a project's settings (an empty gate, which
// allows everything, when it prevents nothing).
func GateOf(ps accounts.ProjectScan) scan.Gate {
	var g scan.Gate
	if ps.PreventVulnerable {
		g.DenyAt = scan.Severity(ps.Severity)
		if !g.DenyAt.Valid() {
			g.DenyAt = scan.SeverityLow
		}
	}
	g.DenyUnscanned = ps.DenyUnscanned
	for _, a := range ps.Allowlist {
		g.Allowlist = append(g.Allowlist, scan.Allowed{ID: a.ID, ExpiresAt: a.ExpiresAt})
	}
	return g
}

func (g *Gate) beforePull(ctx context.Context, ev *registry.Event) error {
	if ev.Action != registry.ActionPullManifest || ev.Manifest == nil {
		return nil
	}
	if g.exempt != nil && g.exempt(ctx, ev) {
		return nil
	}
	now := time.Now()
	if g.now != nil {
		now = g.now()
	}
	project := naming.ProjectOf(ev.Repository)
	cached, known := scan.Gate{}, false
	var epoch uint64
	caching := g.live.Load()
	if caching {
		if cached, known = g.settings.Get(project); known && cached.DenyAt == "" && !cached.DenyUnscanned {
			return nil
		}
		epoch = g.settings.Epoch()
	}
	var refusal string
	err := g.store.View(ctx, func(tx meta.Tx) error {
		gate := cached
		if !known {
			// No project (a registry without accounts): nothing to gate,
			// until one is created, which resets the cache.
			p, err := accounts.Projects.In(tx).Get(project)
			if err != nil && !errors.Is(err, meta.ErrNotFound) {
				return err
			}
			gate = GateOf(p.Scan)
			if caching {
				g.settings.Put(epoch, project, gate)
			}
		}
		if gate.DenyAt == "" && !gate.DenyUnscanned {
			return nil
		}
		images := []meta.Manifest{*ev.Manifest}
		if len(ev.Manifest.Manifests) > 0 {
			images = images[:0]
			for _, c := range ev.Manifest.Manifests {
				m, err := tx.Manifests().Get(ev.Repository, c.Digest)
				if errors.Is(err, meta.ErrNotFound) {
					continue // a sparse index: the child is not here to pull
				}
				if err != nil {
					return err
				}
				images = append(images, m)
			}
		}
		for _, m := range images {
			if !Scannable(m) {
				continue
			}
			report, err := findings(tx, ev.Repository, m)
			if err != nil {
				return err
			}
			if ok, why := gate.Decide(report, now); !ok {
				refusal = why
				if m.Digest != ev.Manifest.Digest {
					refusal = m.Digest.String() + ": " + why
				}
				return nil
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if refusal != "" {
		return registry.NewError(http.StatusPreconditionFailed, CodePolicyViolation,
			"the project's scanning policy refuses this pull: %s", refusal)
	}
	return nil
}

// findings is the gate's view of an image's last finished scan (nil when
// it has none).
func findings(tx meta.Tx, repo string, m meta.Manifest) (*scan.VulnerabilityReport, error) {
	rec, err := Reports.In(tx).Get(ScanReportKey(repo, m.Digest))
	if errors.Is(err, meta.ErrNotFound) {
		return nil, nil
	}
	if err != nil || rec.ScannedAt.IsZero() {
		return nil, err
	}
	r := &scan.VulnerabilityReport{Severity: scan.Severity(rec.Severity), Vulnerabilities: make([]scan.Vulnerability, 0, len(rec.Findings))}
	for _, f := range rec.Findings {
		r.Vulnerabilities = append(r.Vulnerabilities, scan.Vulnerability{ID: f.ID, Severity: scan.Severity(f.Severity)})
	}
	return r, nil
}
