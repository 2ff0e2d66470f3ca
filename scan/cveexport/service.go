package cveexport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta"
)

// Kind is the kind of export jobs on the job queue.
const Kind = "scan.cveexport"

// Projects finds the projects a caller may see (accounts.Manager is
// one).
type Projects interface {
	// GetProject returns project name, or an error wrapping
	// meta.ErrNotFound when it does not exist or p may not see it.
	GetProject(ctx context.Context, p auth.Principal, name string) (accounts.Project, error)
}

// Service starts exports, runs them as jobs and serves their files. Make
// it with New.
type Service struct {
	store    meta.Store
	queue    *jobs.Queue
	projects Projects
	authz    auth.Authorizer
	// principals returns an account's current principal (nil: the one
	// recorded when the export was asked for is used).
	principals func(ctx context.Context, name string) (auth.Principal, error)
	limit      int64
	keep       int
	chunk      int
	now        func() time.Time
	logger     *slog.Logger
}

// Option configures a Service.
type Option func(*Service) error

// WithPrincipals makes an export run with the rights its owner has when
// it runs, as f returns them (accounts.Manager.Principal): an account
// deleted or disabled meanwhile gets nothing. Without it, the rights it
// had when it asked are used.
func WithPrincipals(f func(ctx context.Context, name string) (auth.Principal, error)) Option {
	return func(s *Service) error { s.principals = f; return nil }
}

// WithLimit bounds an export's file to n bytes (default 16 MiB, at
// least 4 KiB): an export that reaches it stops, and says so.
func WithLimit(n int64) Option {
	return func(s *Service) error {
		if n < 4<<10 {
			return fmt.Errorf("cveexport: WithLimit %d: below 4 KiB", n)
		}
		s.limit = n
		return nil
	}
}

// WithKeep keeps a caller's latest n executions (default 5, at least 1):
// starting another drops the oldest finished ones with their files.
func WithKeep(n int) Option {
	return func(s *Service) error {
		if n < 1 {
			return fmt.Errorf("cveexport: WithKeep %d: below 1", n)
		}
		s.keep = n
		return nil
	}
}

// WithLogger sends the exports' failures to l (default: nowhere).
func WithLogger(l *slog.Logger) Option {
	return func(s *Service) error {
		if l != nil {
			s.logger = l
		}
		return nil
	}
}

// New returns the service over store (the security hub's records, the
// executions and their files), enqueuing on queue; projects tells which
// projects a caller sees, authz whether it may pull a repository.
func New(store meta.Store, queue *jobs.Queue, projects Projects, authz auth.Authorizer, opts ...Option) (*Service, error) {
	if store == nil || queue == nil || projects == nil || authz == nil {
		return nil, errors.New("cveexport: New: nil store, queue, projects or authorizer")
	}
	s := &Service{store: store, queue: queue, projects: projects, authz: authz, limit: 16 << 20, keep: 5, chunk: 256 << 10,
		now: time.Now, logger: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Register makes r run the export jobs, one at a time.
func (s *Service) Register(r *jobs.Runner) {
	r.Handle(Kind, jobs.HandlerFunc(s.run), jobs.KindOptions{Limit: 1, MaxAttempts: 2})
}

// Start checks req, resolves its projects (each must be one p sees) and
// queues the export, returning its execution, pending. A caller whose
// kept executions are all still running gets ErrTooMany.
func (s *Service) Start(ctx context.Context, p auth.Principal, req Request) (Execution, error) {
	if p.Kind == auth.Anonymous || p.Name == "" {
		return Execution{}, ErrUnauthenticated
	}
	if err := req.check(); err != nil {
		return Execution{}, err
	}
	var err error
	if req.Projects, err = s.resolveProjects(ctx, p, req); err != nil {
		return Execution{}, err
	}
	req.ProjectIDs = nil
	var ex Execution
	err = s.store.Update(ctx, func(tx meta.Tx) error {
		if err := s.prune(tx, p.Name); err != nil {
			return err
		}
		now := s.now().UTC()
		j, err := jobs.EnqueueTx(tx, jobs.Spec{Kind: Kind, Payload: payload{User: p.Name}}, now)
		if err != nil {
			return err
		}
		ex = Execution{ID: j.ID, User: p.Name, Principal: p, Request: req, Status: StatusPending, Trigger: TriggerManual, StartTime: now}
		return executions.In(tx).Put(ex)
	})
	if err != nil {
		return Execution{}, err
	}
	s.queue.Notify()
	return ex, nil
}

// resolveProjects returns the names of req's projects, ids resolved,
// each checked to be one p sees.
func (s *Service) resolveProjects(ctx context.Context, p auth.Principal, req Request) ([]string, error) {
	names := slices.Clone(req.Projects)
	if len(req.ProjectIDs) > 0 {
		all, err := s.projectsIn(ctx)
		if err != nil {
			return nil, err
		}
		byID := map[uint64]string{}
		for _, proj := range all {
			byID[proj.ID] = proj.Name
		}
		for _, id := range req.ProjectIDs {
			name, ok := byID[id]
			if !ok || id == 0 {
				return nil, fmt.Errorf("%w: project %d", ErrNotFound, id)
			}
			names = append(names, name)
		}
	}
	for _, name := range names {
		if _, err := s.projects.GetProject(ctx, p, name); err != nil {
			if errors.Is(err, meta.ErrNotFound) {
				return nil, fmt.Errorf("%w: project %s (%w)", ErrNotFound, name, err)
			}
			return nil, err
		}
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

// prune drops user's oldest finished executions, with their files, until
// there is room for another; ErrTooMany when none can go.
func (s *Service) prune(tx meta.Tx, user string) error {
	kept, err := ownExecutions(tx, user)
	if err != nil {
		return err
	}
	for i := 0; len(kept) >= s.keep && i < len(kept); {
		if kept[i].Active() {
			i++
			continue
		}
		if err := dropExecution(tx, kept[i]); err != nil {
			return err
		}
		kept = slices.Delete(kept, i, i+1)
	}
	if len(kept) >= s.keep {
		return fmt.Errorf("%w: %d exports are waiting or running", ErrTooMany, len(kept))
	}
	return nil
}

// ownExecutions lists user's executions, oldest first.
func ownExecutions(tx meta.Tx, user string) ([]Execution, error) {
	recs, err := meta.RecordsWithPrefix(tx.Records(kindExecutions), ownerPrefix(user), 0)
	if err != nil {
		return nil, err
	}
	out := make([]Execution, 0, len(recs))
	for _, rec := range recs {
		var ex Execution
		if err := json.Unmarshal(rec.Value, &ex); err != nil {
			return nil, fmt.Errorf("cveexport: execution %q: %w", rec.Key, err)
		}
		out = append(out, ex)
	}
	return out, nil
}

// dropExecution deletes ex and its file.
func dropExecution(tx meta.Tx, ex Execution) error {
	if err := dropChunks(tx, ex.ID); err != nil {
		return err
	}
	return executions.In(tx).Delete(executionKey(ex.User, ex.ID))
}

// dropChunks deletes execution id's file.
func dropChunks(tx meta.Tx, id uint64) error {
	recs, err := meta.RecordsWithPrefix(tx.Records(kindChunks), chunkPrefix(id), 0)
	if err != nil {
		return err
	}
	for _, rec := range recs {
		if err := tx.Records(kindChunks).Delete(rec.Key); err != nil && !errors.Is(err, meta.ErrNotFound) {
			return err
		}
	}
	return nil
}

// Executions returns p's executions, newest first.
func (s *Service) Executions(ctx context.Context, p auth.Principal) ([]Execution, error) {
	var out []Execution
	err := s.store.View(ctx, func(tx meta.Tx) error {
		var err error
		out, err = ownExecutions(tx, p.Name)
		return err
	})
	slices.Reverse(out)
	return out, err
}

// Execution returns p's execution id (ErrNotFound for anybody else's).
func (s *Service) Execution(ctx context.Context, p auth.Principal, id uint64) (Execution, error) {
	var ex Execution
	err := s.store.View(ctx, func(tx meta.Tx) error {
		var err error
		ex, err = executions.In(tx).Get(executionKey(p.Name, id))
		return err
	})
	if errors.Is(err, meta.ErrNotFound) {
		return ex, fmt.Errorf("%w: export %s (%w)", ErrNotFound, strconv.FormatUint(id, 10), err)
	}
	return ex, err
}

// Download returns p's finished execution id and its file, read a chunk
// at a time as the reader is read (ErrNotFound for anybody else's,
// ErrNotReady while it has no file).
func (s *Service) Download(ctx context.Context, p auth.Principal, id uint64) (Execution, io.Reader, error) {
	ex, err := s.Execution(ctx, p, id)
	if err != nil {
		return ex, nil, err
	}
	if !ex.FilePresent() {
		return ex, nil, fmt.Errorf("%w: export %d is %s", ErrNotReady, id, ex.Status)
	}
	return ex, &file{ctx: ctx, s: s, ex: ex}, nil
}

// file reads an execution's chunks in turn.
type file struct {
	ctx  context.Context
	s    *Service
	ex   Execution
	next int
	buf  []byte
}

// Read implements io.Reader.
func (f *file) Read(p []byte) (int, error) {
	for len(f.buf) == 0 {
		if f.next == f.ex.Chunks {
			return 0, io.EOF
		}
		err := f.s.store.View(f.ctx, func(tx meta.Tx) error {
			var err error
			f.buf, err = tx.Records(kindChunks).Get(chunkKey(f.ex.ID, f.next))
			return err
		})
		if err != nil {
			return 0, fmt.Errorf("cveexport: export %d, chunk %d: %w", f.ex.ID, f.next, err)
		}
		f.next++
	}
	n := copy(p, f.buf)
	f.buf = f.buf[n:]
	return n, nil
}
