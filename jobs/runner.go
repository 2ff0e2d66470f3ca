package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/berthreg/berth/internal/outage"
	"github.com/berthreg/berth/meta"
)

// Handler runs one attempt of a job. It must be idempotent: a job whose
// runner died mid-attempt runs again. Returning an error schedules a retry
// (see Permanent); an error wrapping meta.ErrUnavailable or
// storage.ErrUnavailable (a backend unreachable) schedules one that does
// not count as an attempt (see KindOptions.OutageRetries).
type Handler interface {
	Run(ctx context.Context, j meta.Job) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, j meta.Job) error

// Run calls f.
func (f HandlerFunc) Run(ctx context.Context, j meta.Job) error { return f(ctx, j) }

// permanent marks an error retries cannot fix.
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// Permanent wraps err so that the job is not retried: it goes dead at once.
func Permanent(err error) error { return permanent{err} }

// IsPermanent reports whether err wraps an error made by Permanent.
func IsPermanent(err error) bool {
	var p permanent
	return errors.As(err, &p)
}

// KindOptions tune the jobs of one kind.
type KindOptions struct {
	// Limit caps how many jobs of the kind run at once, across every
	// runner sharing the store (0: no cap).
	Limit int
	// MaxAttempts is a job's default number of attempts before it is
	// dead (0: 5).
	MaxAttempts int
	// Backoff is the delay before the first retry (0: 1 s); each further
	// retry doubles it, up to MaxBackoff (0: 5 min). Delays are jittered
	// between half and all of their value.
	Backoff, MaxBackoff time.Duration
	// Timeout bounds one attempt (0: none).
	Timeout time.Duration
	// OutageRetries is how many attempts in a row that fail because a
	// backend cannot be reached (an error wrapping meta.ErrUnavailable
	// or storage.ErrUnavailable, with or without a lost lease) are given
	// back instead of counting towards MaxAttempts (0: 20; negative:
	// none). Such an attempt leaves the job pending with the usual
	// backoff, its Attempts unchanged and its GivenBack counting the
	// attempts given back in a row; the one after OutageRetries counts like
	// any failure, and starts the streak again. So a job makes at most
	// MaxAttempts × (OutageRetries + 1) attempts in all, and a flapping
	// database neither kills a job nor keeps it for ever.
	OutageRetries int
}

type kind struct {
	h    Handler
	opts KindOptions
}

// Runner runs jobs. Make one with NewRunner, register handlers with
// Handle (and schedules with Schedule), then call Run.
type Runner struct {
	store        meta.Store
	name         string
	workers      int
	leaseDur     time.Duration
	poll         time.Duration
	keepFinished time.Duration
	logger       *slog.Logger
	// observe receives the attempts' outcomes (WithObserver; nil: none).
	observe func(Attempt)
	// attemptHook wraps each attempt (WithAttemptHook; nil: none).
	attemptHook func(ctx context.Context, kind string, id uint64) (context.Context, func(Attempt))
	// fireBackoff and fireMaxBackoff space the tries of a cron fire
	// whose enqueue failed.
	fireBackoff, fireMaxBackoff time.Duration

	// storeDown is set while the workers' looks for jobs fail because
	// the store cannot be reached: the change is logged, not each look.
	storeDown atomic.Bool
	// waiting counts the workers waiting for a wake, the poll or the end;
	// woken counts the wakes given and not yet done with (the look they
	// make has not returned). With every worker waiting and no wake
	// outstanding, the runner is idle until the next wake or poll.
	waiting, woken atomic.Int32

	mu          sync.Mutex
	kinds       map[string]kind
	schedules   map[string]*schedule
	wake        chan struct{}
	rescheduled chan struct{}
	now         func() time.Time
}

// RunnerOption configures a Runner made by NewRunner.
type RunnerOption func(*Runner)

// WithName names the runner in leases (default host:pid:random).
func WithName(name string) RunnerOption { return func(r *Runner) { r.name = name } }

// WithWorkers sets how many jobs the runner runs at once (default 4).
func WithWorkers(n int) RunnerOption { return func(r *Runner) { r.workers = n } }

// WithLease sets how long a job stays leased without a heartbeat (default
// 30 s); heartbeats come every third of it.
func WithLease(d time.Duration) RunnerOption { return func(r *Runner) { r.leaseDur = d } }

// WithPoll sets how often idle workers look for due jobs (default 1 s);
// Wake starts them at once.
func WithPoll(d time.Duration) RunnerOption { return func(r *Runner) { r.poll = d } }

// WithKeepFinished sets how long finished jobs stay listed before they
// are pruned (default 7 days).
func WithKeepFinished(d time.Duration) RunnerOption {
	return func(r *Runner) { r.keepFinished = d }
}

// WithLogger sets the logger that receives failures (default: none).
func WithLogger(l *slog.Logger) RunnerOption { return func(r *Runner) { r.logger = l } }

// WithScheduleRetry sets the delays between the tries of a cron fire
// whose enqueue failed (the store unreachable): base before the second
// try, doubling up to max, jittered like Backoff (default 1 s doubling to
// 1 min). The fire is tried until it is enqueued or the schedule's next
// fire comes due.
func WithScheduleRetry(base, max time.Duration) RunnerOption {
	return func(r *Runner) { r.fireBackoff, r.fireMaxBackoff = base, max }
}

// withClock replaces time.Now (tests).
func withClock(now func() time.Time) RunnerOption { return func(r *Runner) { r.now = now } }

// NewRunner returns a runner of the jobs queued in store. Zero durations
// and counts in options mean their defaults; negative ones are an error.
func NewRunner(store meta.Store, opts ...RunnerOption) (*Runner, error) {
	r := &Runner{store: store}
	for _, o := range opts {
		o(r)
	}
	switch {
	case store == nil:
		return nil, errors.New("jobs: NewRunner: nil store")
	case r.workers < 0:
		return nil, fmt.Errorf("jobs: NewRunner: WithWorkers(%d): negative", r.workers)
	case r.leaseDur < 0:
		return nil, fmt.Errorf("jobs: NewRunner: WithLease(%v): negative", r.leaseDur)
	case r.poll < 0:
		return nil, fmt.Errorf("jobs: NewRunner: WithPoll(%v): negative", r.poll)
	case r.keepFinished < 0:
		return nil, fmt.Errorf("jobs: NewRunner: WithKeepFinished(%v): negative", r.keepFinished)
	case r.fireBackoff < 0 || r.fireMaxBackoff < 0:
		return nil, fmt.Errorf("jobs: NewRunner: WithScheduleRetry(%v, %v): negative", r.fireBackoff, r.fireMaxBackoff)
	}
	if r.workers == 0 {
		r.workers = 4
	}
	if r.leaseDur == 0 {
		r.leaseDur = 30 * time.Second
	}
	if r.poll == 0 {
		r.poll = time.Second
	}
	if r.keepFinished == 0 {
		r.keepFinished = 7 * 24 * time.Hour
	}
	if r.fireBackoff == 0 {
		r.fireBackoff = time.Second
	}
	if r.fireMaxBackoff == 0 {
		r.fireMaxBackoff = time.Minute
	}
	r.fireMaxBackoff = max(r.fireMaxBackoff, r.fireBackoff)
	if r.logger == nil {
		r.logger = slog.New(slog.DiscardHandler)
	}
	if r.name == "" {
		host, _ := os.Hostname()
		r.name = host + ":" + strconv.Itoa(os.Getpid()) + ":" + strconv.FormatUint(rand.Uint64()%1e6, 10)
	}
	r.kinds = map[string]kind{}
	r.wake = make(chan struct{}, 1)
	r.rescheduled = make(chan struct{}, 1)
	r.schedules = map[string]*schedule{}
	return r, nil
}

func (r *Runner) clock() time.Time {
	if r.now != nil {
		return r.now()
	}
	return time.Now()
}

func (r *Runner) log() *slog.Logger { return r.logger }

// Handle registers h for jobs of kind k.
func (r *Runner) Handle(k string, h Handler, o KindOptions) {
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 5
	}
	if o.Backoff <= 0 {
		o.Backoff = time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 5 * time.Minute
	}
	switch {
	case o.OutageRetries == 0:
		o.OutageRetries = 20
	case o.OutageRetries < 0:
		o.OutageRetries = 0
	}
	r.mu.Lock()
	r.kinds[k] = kind{h, o}
	r.mu.Unlock()
}

// Wake makes idle workers look for jobs now (give it to a Queue with WithNotify).
func (r *Runner) Wake() {
	r.woken.Add(1)
	select {
	case r.wake <- struct{}{}:
	default:
		r.woken.Add(-1) // one is pending already
	}
}

func (r *Runner) leaseTime() time.Duration { return r.leaseDur }

// Run runs jobs until ctx is done, then waits for the attempts in progress
// to return (their contexts are canceled; they are retried later).
func (r *Runner) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for i := range r.workers {
		wg.Go(func() { r.work(ctx, r.name+"/"+strconv.Itoa(i)) })
	}
	wg.Go(func() { r.scheduler(ctx) })
	wg.Go(func() { r.prune(ctx) })
	wg.Wait()
	return ctx.Err()
}

// work is one worker's loop.
func (r *Runner) work(ctx context.Context, worker string) {
	poll := r.poll
	t := time.NewTimer(0)
	defer t.Stop()
	woken := false
	for ctx.Err() == nil {
		job, k, err := r.lease(ctx, worker)
		if woken {
			r.woken.Add(-1)
			woken = false
		}
		r.noteStore(err)
		if err == nil {
			// More may be due: hand the look on to an idle worker. A wake
			// is passed on only by a worker that found a job, so with
			// nothing due it ends with the first worker that looks.
			r.Wake()
			r.execute(ctx, worker, job, k)
			continue
		}
		if !errors.Is(err, meta.ErrNotFound) && !outage.Is(err) && ctx.Err() == nil {
			r.log().Error("jobs: lease", "err", err)
		}
		t.Reset(poll)
		r.waiting.Add(1)
		select {
		case <-ctx.Done():
		case <-r.wake: // consumed: look once
			woken = true
		case <-t.C:
		}
		r.waiting.Add(-1)
	}
}

// noteStore logs, once per change, that the workers' looks for jobs fail
// because the store cannot be reached (err an outage) and that they work
// again (err nil or meta.ErrNotFound), both at Warn: an outage costs two
// lines, not one per look and worker.
func (r *Runner) noteStore(err error) {
	switch {
	case outage.Is(err):
		if r.storeDown.CompareAndSwap(false, true) {
			r.log().Warn("jobs: lease: the store is unavailable; workers keep polling", "err", err)
		}
	case err == nil || errors.Is(err, meta.ErrNotFound):
		if r.storeDown.CompareAndSwap(true, false) {
			r.log().Warn("jobs: lease: the store is reachable again: recovered")
		}
	}
}

func (r *Runner) lease(ctx context.Context, worker string) (meta.Job, kind, error) {
	r.mu.Lock()
	kinds := make([]string, 0, len(r.kinds))
	limits := map[string]int{}
	opts := map[string]KindOptions{}
	for name, k := range r.kinds {
		kinds = append(kinds, name)
		opts[name] = k.opts
		if k.opts.Limit > 0 {
			limits[name] = k.opts.Limit
		}
	}
	r.mu.Unlock()
	if len(kinds) == 0 {
		return meta.Job{}, kind{}, meta.ErrNotFound
	}
	// Look before writing: an idle runner polls without a commit (and
	// the fsync it costs).
	var due bool
	if err := r.store.View(ctx, func(tx meta.Tx) error {
		var err error
		due, err = tx.Jobs().Due(kinds, r.clock())
		return err
	}); err != nil || !due {
		if err == nil {
			err = meta.ErrNotFound
		}
		return meta.Job{}, kind{}, err
	}
	var (
		job     meta.Job
		leased  bool
		expired []string // the kinds of the jobs left dead
	)
	err := r.store.Update(ctx, func(tx meta.Tx) error {
		now := r.clock()
		leased, expired = false, expired[:0]
		for buried := false; ; buried = true {
			var err error
			job, err = tx.Jobs().Lease(kinds, limits, worker, now, now.Add(r.leaseTime()))
			if buried && errors.Is(err, meta.ErrNotFound) {
				return nil // commit the burials
			}
			if err != nil {
				return err
			}
			if job.Attempts <= maxAttempts(job, opts[job.Kind]) {
				leased = true
				return nil
			}
			// A lease that expired on the job's last attempt: its runner
			// died (or lost the lease) and the job has no attempt left.
			job.Attempts--
			job.State, job.Worker, job.LeaseUntil = meta.JobDead, "", time.Time{}
			job.FinishedAt, job.UpdatedAt = now.UTC(), now.UTC()
			job.LastError = fmt.Sprintf("jobs: attempt %d of %d ended without an outcome: its runner stopped or lost its lease", job.Attempts, job.Attempts)
			if err := tx.Jobs().Put(job); err != nil {
				return err
			}
			expired = append(expired, job.Kind)
		}
	})
	if err == nil {
		for _, k := range expired {
			r.report(Attempt{Kind: k, Outcome: Expired})
		}
	}
	if err == nil && !leased {
		err = fmt.Errorf("jobs: no job to lease: %w", meta.ErrNotFound)
	}
	if err != nil {
		return job, kind{}, err
	}
	r.mu.Lock()
	k := r.kinds[job.Kind]
	r.mu.Unlock()
	return job, k, nil
}

// maxAttempts is job j's number of attempts: its own, else its kind's.
func maxAttempts(j meta.Job, o KindOptions) int {
	if j.MaxAttempts > 0 {
		return j.MaxAttempts
	}
	if o.MaxAttempts > 0 {
		return o.MaxAttempts
	}
	return 5
}

// execute runs one attempt with a heartbeat and records its outcome.
func (r *Runner) execute(ctx context.Context, worker string, job meta.Job, k kind) {
	jctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if k.opts.Timeout > 0 {
		jctx, cancel = context.WithTimeout(jctx, k.opts.Timeout)
		defer cancel()
	}
	ended := r.report
	if r.attemptHook != nil {
		var end func(Attempt)
		jctx, end = r.attemptHook(jctx, job.Kind, job.ID)
		ended = func(a Attempt) {
			r.report(a)
			end(a)
		}
	}
	beat := make(chan struct{})
	var (
		lost    bool
		lostErr error // why the lease could not be renewed, if the store failed
	)
	go func() {
		defer close(beat)
		t := time.NewTicker(r.leaseTime() / 3)
		defer t.Stop()
		until := job.LeaseUntil
		for {
			select {
			case <-jctx.Done():
				return
			case <-t.C:
				var ok bool
				if until, ok, lostErr = r.heartbeat(ctx, worker, job, until); !ok {
					lost = true
					cancel()
					return
				}
			}
		}
	}()
	start := r.clock()
	err := r.runHandler(jctx, k.h, job)
	took := r.clock().Sub(start)
	cancel()
	<-beat
	if lost {
		if !outage.Is(lostErr) {
			r.log().Warn("jobs: lease lost or job canceled during an attempt", "job", job.ID, "kind", job.Kind)
			ended(Attempt{Kind: job.Kind, Outcome: Lost, Took: took})
			return
		}
		// The store went away under the attempt, which stopped before
		// its lease could pass to another runner. Once the store is back,
		// the attempt is given back (see KindOptions.OutageRetries), if
		// no other runner took the job over meanwhile.
		err = fmt.Errorf("jobs: attempt stopped: its lease could not be renewed: %w", lostErr)
	}
	if ctx.Err() != nil && err != nil {
		err = fmt.Errorf("runner stopped: %w", err)
	}
	ended(Attempt{Kind: job.Kind, Outcome: r.finish(ctx, worker, job, k, err), Took: took})
}

// runHandler runs h, turning a panic into an error.
func (r *Runner) runHandler(ctx context.Context, h Handler, job meta.Job) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("jobs: handler panicked: %v\n%s", p, debug.Stack())
		}
	}()
	return h.Run(ctx, job)
}

// mine reports whether j is still the attempt this worker leased.
func mine(j, leased meta.Job, worker string) bool {
	return j.State == meta.JobRunning && j.Worker == worker && j.Attempts == leased.Attempts
}

// heartbeat extends the lease that runs until until; it returns the new
// expiry, or false when the job is no longer ours (its lease expired and
// another runner took it, or it was canceled), or when the lease could
// not be extended and would expire before the next heartbeat: another
// runner may take the job over then, and this attempt must have stopped
// by that time (a kind's limit counts live leases). The error is the
// store's, when the lease could not be extended.
func (r *Runner) heartbeat(ctx context.Context, worker string, leased meta.Job, until time.Time) (time.Time, bool, error) {
	ok := false
	next := until
	err := r.store.Update(ctx, func(tx meta.Tx) error {
		ok, next = false, until
		j, err := tx.Jobs().Get(leased.ID)
		if err != nil || !mine(j, leased, worker) {
			return err
		}
		ok = true
		now := r.clock()
		next = now.Add(r.leaseTime()).UTC()
		j.LeaseUntil, j.UpdatedAt = next, now.UTC()
		return tx.Jobs().Put(j)
	})
	if err != nil {
		if ctx.Err() == nil {
			r.log().Warn("jobs: heartbeat", "job", leased.ID, "err", err)
		}
		// A store hiccup keeps the attempt going while the lease has
		// slack past the next heartbeat.
		return until, ctx.Err() == nil && r.clock().Add(r.leaseTime()/3).Before(until), err
	}
	return next, ok, nil
}

// recordPatience is how long finish keeps trying to record an attempt's
// outcome while the store cannot be reached: an outcome not recorded
// leaves the job to be taken over when its lease expires, as an attempt
// that counts.
const recordPatience = 5 * time.Minute

// finish records an attempt's outcome, unless the job is no longer ours,
// and returns it (Lost when it recorded none). While the store cannot be
// reached it tries again, with backoff, for recordPatience, or until Run
// stops.
func (r *Runner) finish(ctx context.Context, worker string, leased meta.Job, k kind, runErr error) Outcome {
	var (
		givenBack bool
		outcome   Outcome
	)
	record := func(tx meta.Tx) error {
		givenBack, outcome = false, Lost
		j, err := tx.Jobs().Get(leased.ID)
		if err != nil || !mine(j, leased, worker) {
			return err
		}
		now := r.clock().UTC()
		j.Worker, j.LeaseUntil, j.UpdatedAt = "", time.Time{}, now
		var perm permanent
		streak := j.GivenBack
		j.GivenBack = 0
		switch {
		case runErr == nil:
			j.State, j.FinishedAt, j.LastError = meta.JobSucceeded, now, ""
			outcome = Succeeded
		case errors.As(runErr, &perm):
			j.State, j.FinishedAt, j.LastError = meta.JobDead, now, runErr.Error()
			outcome = Dead
		case outage.Is(runErr) && streak < k.opts.OutageRetries:
			// Not the job's fault: the attempt is given back.
			givenBack = true
			j.Attempts--
			j.GivenBack = streak + 1
			j.State, j.LastError = meta.JobPending, runErr.Error()
			j.RunAt = now.Add(Backoff(k.opts.Backoff, k.opts.MaxBackoff, streak+1))
			outcome = GivenBack
		case j.Attempts >= maxAttempts(j, k.opts):
			j.State, j.FinishedAt, j.LastError = meta.JobDead, now, runErr.Error()
			outcome = Dead
		default:
			j.State, j.LastError = meta.JobPending, runErr.Error()
			j.RunAt = now.Add(Backoff(k.opts.Backoff, k.opts.MaxBackoff, j.Attempts))
			outcome = Retried
		}
		return tx.Jobs().Put(j)
	}
	giveUp := time.Now().Add(recordPatience)
	var err error
	for try := 1; ; try++ {
		// A fresh context: the outcome must be recorded even as Run stops.
		tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		err = r.store.Update(tctx, record)
		cancel()
		if err == nil || !outage.Is(err) || ctx.Err() != nil || time.Now().After(giveUp) {
			break
		}
		if try == 1 {
			r.log().Warn("jobs: recording an attempt: the store is unavailable; retrying", "job", leased.ID, "kind", leased.Kind, "err", err)
		}
		t := time.NewTimer(Backoff(50*time.Millisecond, 2*time.Second, try))
		select {
		case <-ctx.Done(): // one last try
		case <-t.C:
		}
		t.Stop()
	}
	if err != nil {
		r.log().Error("jobs: recording an attempt", "job", leased.ID, "kind", leased.Kind, "err", err)
		outcome = Lost
	}
	switch {
	case runErr == nil:
	case givenBack && err == nil:
		r.log().Warn("jobs: attempt failed: a backend is unavailable; the attempt is given back", "job", leased.ID, "kind", leased.Kind, "attempt", leased.Attempts, "err", runErr)
	default:
		r.log().Warn("jobs: attempt failed", "job", leased.ID, "kind", leased.Kind, "attempt", leased.Attempts, "err", runErr)
	}
	return outcome
}

// Backoff is the delay before the retry that follows attempt n (from 1):
// base doubled n-1 times, at most max, jittered between half and all of
// it, so that each delay is at least the one before.
func Backoff(base, max time.Duration, n int) time.Duration {
	d := base
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	d = min(d, max)
	return d/2 + rand.N(d/2+1)
}

// prune deletes finished jobs older than KeepFinished, hourly.
func (r *Runner) prune(ctx context.Context) {
	keep := r.keepFinished
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if _, err := Prune(ctx, r.store, r.clock().Add(-keep)); err != nil && ctx.Err() == nil {
			r.log().Error("jobs: prune", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Prune deletes the jobs that finished before t and returns how many. It
// looks in read-only transactions and writes only where there is
// something to delete, so that the runners of idle instances, which all
// prune, do not commit.
func Prune(ctx context.Context, s meta.Store, before time.Time) (int, error) {
	n := 0
	var after uint64
	old := func(j meta.Job) bool { return !j.State.Active() && j.FinishedAt.Before(before) }
	for {
		var batch []meta.Job
		var ids []uint64
		err := s.View(ctx, func(tx meta.Tx) error {
			var err error
			ids = nil
			if batch, err = tx.Jobs().List(meta.JobFilter{}, after, 500); err != nil {
				return err
			}
			for _, j := range batch {
				if old(j) {
					ids = append(ids, j.ID)
				}
			}
			return nil
		})
		if err != nil || len(batch) == 0 {
			return n, err
		}
		if len(ids) > 0 {
			deleted := 0
			err = s.Update(ctx, func(tx meta.Tx) error {
				deleted = 0
				for _, id := range ids {
					j, err := tx.Jobs().Get(id)
					if errors.Is(err, meta.ErrNotFound) {
						continue
					}
					if err != nil {
						return err
					}
					if old(j) {
						if err := tx.Jobs().Delete(id); err != nil {
							return err
						}
						deleted++
					}
				}
				return nil
			})
			if err != nil {
				return n, err
			}
			n += deleted
		}
		after = batch[len(batch)-1].ID
	}
}
