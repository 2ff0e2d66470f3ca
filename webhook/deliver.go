package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/netguard"
)

// DefaultTimeout bounds an attempt when the target sets none.
const DefaultTimeout = 10 * time.Second

// Deliverer is the job handler that sends deliveries. Make one with
// NewDeliverer.
type Deliverer struct {
	store     meta.Store
	host      string
	transport http.RoundTripper
	guard     *netguard.Guard
	observe   func(Observation)

	secure, insecure *http.Transport
}

// DelivererOption configures a Deliverer made by NewDeliverer.
type DelivererOption func(*Deliverer)

// WithTransport makes the deliverer send the requests through rt as it
// is: the host's own transport, which must then keep deliveries off
// internal addresses itself. It excludes WithGuard.
func WithTransport(rt http.RoundTripper) DelivererOption {
	return func(d *Deliverer) { d.transport = rt }
}

// WithGuard sets which addresses deliveries may reach (default: every
// global address, nothing internal). Deliveries go through
// http.DefaultTransport's settings dialing through the guard, with
// certificate checks off for targets that ask.
func WithGuard(g *netguard.Guard) DelivererOption { return func(d *Deliverer) { d.guard = g } }

// Observation is one delivery attempt, as an observer sees it.
type Observation struct {
	// TargetType is the target's type: "http" or "slack".
	TargetType string
	// Result is Delivered, Failed (no answer, or 408, 429 or 5xx: the
	// job is retried while it has attempts left) or Rejected (another
	// status, or an address that is invalid or not allowed: it is not).
	Result string
	// Status is the receiver's HTTP status (0: no answer).
	Status int
	// Took is how long the request took.
	Took time.Duration
}

// The results of a delivery attempt (Observation.Result).
const (
	Delivered = "delivered"
	Failed    = "failed"
	Rejected  = "rejected"
)

// WithObserver makes the deliverer report every request it sends to f,
// once its answer is judged (how a host exports deliveries as metrics).
// Attempts that send nothing (a policy or event gone) are not reported.
// f must be quick and must not block.
func WithObserver(f func(Observation)) DelivererOption {
	return func(d *Deliverer) { d.observe = f }
}

// NewDeliverer returns the delivery handler over store (policies, events
// and the delivery log); host is the registry's host[:port] as clients
// name it, for the resource URLs of payloads.
func NewDeliverer(store meta.Store, host string, opts ...DelivererOption) (*Deliverer, error) {
	d := &Deliverer{store: store, host: host}
	for _, o := range opts {
		o(d)
	}
	switch {
	case store == nil:
		return nil, errors.New("webhook: NewDeliverer: nil store")
	case d.transport != nil && d.guard != nil:
		return nil, errors.New("webhook: NewDeliverer: WithTransport and WithGuard together (the transport must guard itself)")
	}
	if d.transport == nil {
		d.secure = d.guard.Transport()
		d.insecure = d.guard.Transport()
		d.insecure.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // for the targets whose owner asks
	}
	return d, nil
}

// loaded is what one attempt needs from the store.
type loaded struct {
	policy Policy
	target Target
	event  meta.Event
	ctx    Context
}

func (d *Deliverer) load(ctx context.Context, job delivery) (loaded, error) {
	var l loaded
	err := d.store.View(ctx, func(tx meta.Tx) error {
		p, err := policyOf(tx, job)
		if err != nil {
			return err
		}
		if job.Target < 0 || job.Target >= len(p.Targets) {
			return jobs.Permanent(fmt.Errorf("webhook: policy %s has no target %d any more", job.Policy, job.Target))
		}
		evs, err := tx.Events().List(job.Seq-1, 1)
		if err != nil {
			return err
		}
		if len(evs) == 0 || evs[0].Seq != job.Seq {
			return jobs.Permanent(fmt.Errorf("webhook: event %d is no longer in the log", job.Seq))
		}
		l.policy, l.target, l.event = p, p.Targets[job.Target], evs[0]
		l.ctx.Host = d.host
		if r, err := tx.Repositories().Get(l.event.Repository); err == nil {
			l.ctx.Created = r.CreatedAt
		}
		if proj, err := accounts.Projects.In(tx).Get(l.event.Project); err == nil {
			l.ctx.Public = proj.Public
		}
		return nil
	})
	return l, err
}

// errPolicyGone reports a delivery job whose policy was deleted.
var errPolicyGone = fmt.Errorf("policy deleted: %w", meta.ErrNotFound)

// policyOf loads the policy of a delivery job: the one of the job's
// project, name and id, in its project's current incarnation. A job
// whose policy is gone fails for good (jobs.Permanent), whatever policy
// has the name now. A job from before ids goes to the id-less policy of
// its name only.
func policyOf(tx meta.Tx, job delivery) (Policy, error) {
	gone := func() (Policy, error) {
		return Policy{}, jobs.Permanent(fmt.Errorf("webhook: policy %s (id %d) of project %q: %w", job.Policy, job.PolicyID, job.Project, errPolicyGone))
	}
	var p Policy
	if job.PolicyID == 0 && job.Project == "" {
		all, err := PolicyRecords.In(tx).List("", 0)
		if err != nil {
			return p, err
		}
		i := slices.IndexFunc(all, func(p Policy) bool { return p.Name == job.Policy && p.ID == 0 })
		if i < 0 {
			return gone()
		}
		p = all[i]
	} else {
		var err error
		p, err = PolicyRecords.In(tx).Get(PolicyKey(job.Project, job.Policy))
		if errors.Is(err, meta.ErrNotFound) || err == nil && p.ID != job.PolicyID {
			return gone()
		}
		if err != nil {
			return p, err
		}
	}
	if ok, err := current(tx, p); err != nil {
		return p, err
	} else if !ok {
		return gone()
	}
	return p, nil
}

// Body renders event e for target t: its bytes and content type.
func Body(t Target, e meta.Event, c Context, id string) ([]byte, string, error) {
	switch {
	case t.Type == "slack":
		b, err := Slack(e, c)
		return b, "application/json", err
	case t.Format == "cloudevents":
		b, err := CloudEvent(e, c, id)
		return b, "application/cloudevents+json", err
	default:
		b, err := json.Marshal(Harbor(e, c))
		return b, "application/json", err
	}
}

// Run implements jobs.Handler: one attempt at one delivery.
func (d *Deliverer) Run(ctx context.Context, j meta.Job) error {
	var job delivery
	if err := json.Unmarshal(j.Payload, &job); err != nil {
		return jobs.Permanent(fmt.Errorf("webhook: job %d: bad payload: %w", j.ID, err))
	}
	l, err := d.load(ctx, job)
	if err != nil {
		return err
	}
	id := DeliveryID(j.ID)
	body, contentType, err := Body(l.target, l.event, l.ctx, id)
	if err != nil {
		return jobs.Permanent(err)
	}
	start := time.Now()
	status, class, sendErr := d.send(ctx, l.target, id, body, contentType, start)
	attempt := DeliveryAttempt{At: start.UTC(), Duration: time.Since(start), Status: status, Error: class}
	if d.observe != nil {
		d.observe(Observation{TargetType: l.target.Type, Result: resultOf(sendErr), Status: status, Took: attempt.Duration})
	}
	if err := d.record(ctx, j, job, l, attempt); err != nil {
		return err
	}
	return sendErr
}

// resultOf is the Observation.Result of a request send judged err.
func resultOf(err error) string {
	switch {
	case err == nil:
		return Delivered
	case jobs.IsPermanent(err):
		return Rejected
	}
	return Failed
}

// send posts body to the target and judges the answer: 2xx delivers; 408,
// 429 and 5xx (and no answer) are retried; other statuses are permanent.
// It returns the status, the delivery log's short error class ("" when
// delivered) and the job's error. Neither keeps anything of the response
// body, nor the status line's text: a receiver on an internal network
// must not be readable through the log.
func (d *Deliverer) send(ctx context.Context, t Target, id string, body []byte, contentType string, at time.Time) (int, string, error) {
	timeout := t.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.Address, bytes.NewReader(body))
	if err != nil {
		return 0, "bad address", jobs.Permanent(fmt.Errorf("webhook: target address: %w", withoutURL(err)))
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", "berth-webhook")
	if t.AuthHeader != "" {
		req.Header.Set("Authorization", t.AuthHeader)
	}
	if t.Secret != "" {
		Sign(req.Header, t.Secret, id, at, body)
	}
	resp, err := d.client(t).Do(req)
	if err != nil {
		class := errorClass(err)
		err = fmt.Errorf("webhook: %s: %w", class, withoutURL(err))
		if errors.Is(err, netguard.ErrForbiddenAddress) {
			// Refused until the operator allows the address: a retry
			// would only be refused again (redeliver once allowed).
			err = jobs.Permanent(err)
		}
		return 0, class, err
	}
	// Drain a little so that the connection can be reused; keep none of it.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	_ = resp.Body.Close()
	switch s := resp.StatusCode; {
	case s >= 200 && s < 300:
		return s, "", nil
	case s == http.StatusRequestTimeout || s == http.StatusTooManyRequests || s >= 500:
		return s, statusClass(s), fmt.Errorf("webhook: receiver answered %d", s)
	default:
		return s, statusClass(s), jobs.Permanent(fmt.Errorf("webhook: receiver answered %d", s))
	}
}

func (d *Deliverer) client(t Target) *http.Client {
	rt := d.transport
	if rt == nil {
		tr := d.secure
		if t.SkipCertVerify {
			tr = d.insecure
		}
		rt = d.guard.RoundTripper(tr)
	}
	return &http.Client{Transport: rt, CheckRedirect: func(*http.Request, []*http.Request) error {
		return errRedirect
	}}
}

// record appends the attempt to the delivery log, unless the policy was
// deleted meanwhile (its log went with it).
func (d *Deliverer) record(ctx context.Context, j meta.Job, job delivery, l loaded, a DeliveryAttempt) error {
	return d.store.Update(ctx, func(tx meta.Tx) error {
		if _, err := policyOf(tx, job); errors.Is(err, errPolicyGone) {
			return nil
		} else if err != nil {
			return err
		}
		rec, err := DeliveryRecords.In(tx).Get(DeliveryID(j.ID))
		if errors.Is(err, meta.ErrNotFound) {
			rec = Delivery{ID: DeliveryID(j.ID), JobID: j.ID, Policy: job.Policy, Project: l.policy.Project, PolicyID: l.policy.ID, Target: job.Target,
				Address: l.target.Address, EventSeq: job.Seq, EventType: l.event.Type, CreatedAt: j.CreatedAt}
		} else if err != nil {
			return err
		}
		rec.Attempts = append(rec.Attempts, a)
		return DeliveryRecords.In(tx).Put(rec)
	})
}

// Redeliver sends a logged delivery again: a dead or canceled one is
// retried as it is; any other gets a new delivery job (and log record)
// for the same event and target. It returns the delivery id that will
// carry it.
func Redeliver(ctx context.Context, q *jobs.Queue, id string) (string, error) {
	var rec Delivery
	var job meta.Job
	err := q.Store().View(ctx, func(tx meta.Tx) error {
		var err error
		if rec, err = DeliveryRecords.In(tx).Get(id); err != nil {
			return err
		}
		job, err = tx.Jobs().Get(rec.JobID)
		return err
	})
	if err != nil {
		return "", err
	}
	if job.State == meta.JobDead || job.State == meta.JobCanceled {
		return id, q.Retry(ctx, job.ID)
	}
	if job.State.Active() {
		return id, nil // on its way already
	}
	var next meta.Job
	err = q.Store().Update(ctx, func(tx meta.Tx) error {
		var err error
		if next, err = tx.Jobs().Enqueue(meta.Job{Kind: JobKind, Payload: job.Payload}, time.Now()); err != nil {
			return err
		}
		copyRec := rec
		copyRec.ID, copyRec.JobID, copyRec.Attempts, copyRec.CreatedAt = DeliveryID(next.ID), next.ID, nil, time.Now().UTC()
		return DeliveryRecords.In(tx).Put(copyRec)
	})
	if err == nil {
		q.Notify()
	}
	return DeliveryID(next.ID), err
}

// PruneDeliveries deletes the delivery log records created before t whose
// job has finished (or was pruned), and returns how many: the log follows
// the job queue's retention.
func PruneDeliveries(ctx context.Context, s meta.Store, before time.Time) (int, error) {
	n := 0
	after := ""
	for {
		var batch []Delivery
		err := s.Update(ctx, func(tx meta.Tx) error {
			var err error
			if batch, err = DeliveryRecords.In(tx).List(after, 500); err != nil {
				return err
			}
			for _, d := range batch {
				if !d.CreatedAt.Before(before) {
					continue
				}
				if j, err := tx.Jobs().Get(d.JobID); err == nil && j.State.Active() {
					continue
				}
				if err := DeliveryRecords.In(tx).Delete(d.ID); err != nil {
					return err
				}
				n++
			}
			return nil
		})
		if err != nil || len(batch) == 0 {
			return n, err
		}
		after = batch[len(batch)-1].ID
	}
}
