package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/registry"
	"github.com/berthreg/berth/registry/naming"
)

// Recorder appends the registry's changes to the event log. Make one
// with NewRecorder, then pass Hooks to registry.WithHooks (merged with
// other hooks by registry.Hooks' owner). Start the pull batcher with Run
// when WithPullSample is above 0.
type Recorder struct {
	store      meta.Store
	bell       *Bell
	pullSample float64
	logger     *slog.Logger
	pulls      chan meta.Event
}

// RecorderOption configures a Recorder made by NewRecorder.
type RecorderOption func(*Recorder)

// WithRecorderBell makes the recorder ring b after every committed change.
func WithRecorderBell(b *Bell) RecorderOption { return func(r *Recorder) { r.bell = b } }

// WithPullSample sets the share of pulls recorded: 0 (the default)
// records none, 1 all, 0.01 one in a hundred.
func WithPullSample(share float64) RecorderOption {
	return func(r *Recorder) { r.pullSample = share }
}

// WithRecorderLogger sets the logger that receives pull events dropped
// under load and failures to append them (default: none).
func WithRecorderLogger(l *slog.Logger) RecorderOption {
	return func(r *Recorder) { r.logger = l }
}

// NewRecorder returns a recorder of the changes to store (the registry's
// metadata store).
func NewRecorder(store meta.Store, opts ...RecorderOption) (*Recorder, error) {
	r := &Recorder{store: store, pulls: make(chan meta.Event, 1024)}
	for _, o := range opts {
		o(r)
	}
	switch {
	case store == nil:
		return nil, errors.New("events: NewRecorder: nil store")
	case !(r.pullSample >= 0 && r.pullSample <= 1):
		return nil, fmt.Errorf("events: NewRecorder: WithPullSample(%v): not between 0 and 1", r.pullSample)
	}
	return r, nil
}

// Hooks returns the registry hooks that record events.
func (r *Recorder) Hooks() registry.Hooks {
	ring := func(context.Context, *registry.Event) { r.bell.Ring() }
	return registry.Hooks{InTx: r.inTx, AfterPush: ring, AfterDelete: ring, AfterPull: r.pulled}
}

// FromRegistry turns a registry event into the log's event; ok is false
// for actions the log does not record (blob pushes and deletes, reads).
func FromRegistry(ev *registry.Event) (meta.Event, bool) {
	out := meta.Event{
		Operator: ev.Operator, Repository: ev.Repository, Project: naming.ProjectOf(ev.Repository),
		Digest: ev.Digest.String(), MediaType: ev.MediaType, Size: ev.Size, Result: "success",
	}
	if len(ev.Tags) > 0 {
		out.Tag = ev.Tags[0]
		if len(ev.Tags) > 1 {
			out.Details = map[string]string{"tags": strings.Join(ev.Tags, ",")}
		}
	}
	switch ev.Action {
	case registry.ActionPushManifest:
		out.Type = PushArtifact
	case registry.ActionDeleteManifest:
		out.Type = DeleteArtifact
	case registry.ActionDeleteTag:
		out.Type = DeleteTag
	case registry.ActionPullManifest:
		out.Type = PullArtifact
		if ev.Upstream != "" {
			if out.Details == nil {
				out.Details = map[string]string{}
			}
			out.Details["upstream"] = ev.Upstream
		}
	default:
		return out, false
	}
	return out, true
}

// inTx appends a change's events in its transaction: the repository's
// creation, if it did, then the change.
func (r *Recorder) inTx(_ context.Context, tx meta.Tx, ev *registry.Event) error {
	if ev.RepositoryCreated {
		_, err := tx.Events().Append(meta.Event{Type: CreateRepository, Operator: ev.Operator, Repository: ev.Repository,
			Project: naming.ProjectOf(ev.Repository), Result: "success"})
		if err != nil {
			return err
		}
	}
	e, ok := FromRegistry(ev)
	if !ok || e.Type == PullArtifact {
		return nil
	}
	_, err := tx.Events().Append(e)
	return err
}

// pulled queues a sampled pull for the batcher; a full queue drops it.
func (r *Recorder) pulled(_ context.Context, ev *registry.Event) {
	if r.pullSample <= 0 || (r.pullSample < 1 && rand.Float64() >= r.pullSample) {
		return
	}
	e, ok := FromRegistry(ev)
	if !ok {
		return
	}
	e.Time = time.Now()
	select {
	case r.pulls <- e:
	default:
		if r.logger != nil {
			r.logger.Warn("events: pull event dropped: the batcher is behind")
		}
	}
}

// Run appends queued pull events in batches until ctx is done. Pulls
// queued but not yet appended when the process dies are lost: pulls are
// not changes.
func (r *Recorder) Run(ctx context.Context) error {
	for {
		var batch []meta.Event
		select {
		case <-ctx.Done():
			return ctx.Err()
		case e := <-r.pulls:
			batch = append(batch, e)
		}
	drain:
		for len(batch) < 256 {
			select {
			case e := <-r.pulls:
				batch = append(batch, e)
			default:
				break drain
			}
		}
		err := r.store.Update(ctx, func(tx meta.Tx) error {
			for _, e := range batch {
				if _, err := tx.Events().Append(e); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil && r.logger != nil {
			r.logger.Error("events: appending pull events", "n", len(batch), "err", err)
		}
		r.bell.Ring()
	}
}
