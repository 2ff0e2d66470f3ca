package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/berthreg/berth/events"
	"github.com/berthreg/berth/meta"
)

// consumerName is the platform's cursor in the registry's event log.
const consumerName = "platform-deployer"

// Component is an application of a tenant that runs one repository of the
// tenant's namespace; a push of a tag to it redeploys it.
type Component struct {
	Tenant string `json:"tenant"`
	Name   string `json:"name"`
	// Repository is the repository inside the tenant's namespace ("app").
	Repository string `json:"repository"`
}

// Deployment records one redeployment of a component, caused by the push
// the registry logged as event Seq.
type Deployment struct {
	Seq       uint64    `json:"seq"`
	Tenant    string    `json:"tenant"`
	Component string    `json:"component"`
	Image     string    `json:"image"`
	Digest    string    `json:"digest"`
	Time      time.Time `json:"time"`
}

// Scan is the latest scan result of an image digest.
type Scan struct {
	Digest     string `json:"digest"`
	Repository string `json:"repository"`
	Status     string `json:"status"`
	Severity   string `json:"severity"`
}

// The platform keeps its records in the registry's metadata store, in
// kinds of its own, so that they commit with the event cursor.
var (
	components  = meta.RecordType[Component]{Kind: "platform.components", Key: func(c Component) string { return c.Tenant + "/" + c.Repository }}
	deployments = meta.RecordType[Deployment]{Kind: "platform.deployments", Key: func(d Deployment) string { return fmt.Sprintf("%020d", d.Seq) }}
	scans       = meta.RecordType[Scan]{Kind: "platform.scans", Key: func(s Scan) string { return s.Digest }}
)

// errNoComponent is what a redeploy of a component that is not registered
// returns.
var errNoComponent = errors.New("platform: no such component")

// AddComponent registers c: pushes to "<tenant>/<repository>" redeploy it
// from now on.
func (p *Platform) AddComponent(ctx context.Context, c Component) error {
	if c.Tenant == "" || c.Name == "" || c.Repository == "" {
		return errors.New("platform: a component needs tenant, name and repository")
	}
	if _, err := p.srv.Accounts().Project(ctx, c.Tenant); err != nil {
		return fmt.Errorf("platform: tenant %s: %w", c.Tenant, err)
	}
	return p.store().Update(ctx, func(tx meta.Tx) error { return components.In(tx).Put(c) })
}

// Deployments lists tenant's redeployments, oldest first.
func (p *Platform) Deployments(ctx context.Context, tenant string) ([]Deployment, error) {
	var out []Deployment
	err := p.store().View(ctx, func(tx meta.Tx) error {
		all, err := deployments.In(tx).List("", 0)
		for _, d := range all {
			if d.Tenant == tenant {
				out = append(out, d)
			}
		}
		return err
	})
	return out, err
}

// ScanOf returns the latest scan of digest (meta.ErrNotFound before one
// finished).
func (p *Platform) ScanOf(ctx context.Context, digest string) (Scan, error) {
	var s Scan
	err := p.store().View(ctx, func(tx meta.Tx) error {
		var err error
		s, err = scans.In(tx).Get(digest)
		return err
	})
	return s, err
}

// consume is the platform's consumer of the registry's events. It runs
// inside the transaction that moves its cursor (events.TxFunc), so a
// push redeploys its component exactly once, whatever crashes or
// restarts: the deployment record and the cursor commit together. A real
// platform's rollout reads the deployments it records (an outbox), never
// acts inside the transaction, which may run more than once.
func (p *Platform) consume() events.TxFunc {
	return func(_ context.Context, tx meta.Tx, batch []meta.Event) error {
		for _, e := range batch {
			switch e.Type {
			case events.PushArtifact:
				if err := p.redeploy(tx, e); err != nil && !errors.Is(err, errNoComponent) {
					return err
				}
			case events.ScanningCompleted, events.ScanningFailed:
				s := Scan{Digest: e.Digest, Repository: e.Repository, Status: e.Details["scan_status"], Severity: e.Details["severity"]}
				if err := scans.In(tx).Put(s); err != nil {
					return err
				}
			}
		}
		return nil
	}
}

// redeploy records the deployment a tagged push e causes, if its
// repository is a component's.
func (p *Platform) redeploy(tx meta.Tx, e meta.Event) error {
	tenant, repo, ok := strings.Cut(e.Repository, "/")
	if !ok || e.Tag == "" {
		return errNoComponent
	}
	c, err := components.In(tx).Get(tenant + "/" + repo)
	if errors.Is(err, meta.ErrNotFound) {
		return errNoComponent
	} else if err != nil {
		return err
	}
	return deployments.In(tx).Put(Deployment{Seq: e.Seq, Tenant: tenant, Component: c.Name,
		Image: p.host + "/" + e.Repository + ":" + e.Tag, Digest: e.Digest, Time: e.Time})
}

// store is the registry's metadata store, which the platform opened.
func (p *Platform) store() meta.Store { return p.meta }
