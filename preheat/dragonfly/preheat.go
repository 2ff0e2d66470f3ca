package dragonfly

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/berthreg/berth/preheat"
)

// The scopes of a Dragonfly preheat (manager/types/job.go of
// d7y.io/dragonfly/v2 v2.3.0): Harbor's single_peer is one seed peer of
// each scheduler cluster, all_peers every peer.
const (
	scopeSingleSeedPeer = "single_seed_peer"
	scopeAllPeers       = "all_peers"
)

// The states of a manager's job (its "state", machinery's task states,
// which manager/service/job.go copies from the job's group: PENDING
// until every task succeeded, then SUCCESS, or FAILURE when one failed
// or the manager gave up polling) and of each task in its result.
const (
	statePending  = "PENDING"
	stateReceived = "RECEIVED"
	stateStarted  = "STARTED"
	stateRetry    = "RETRY"
	stateSuccess  = "SUCCESS"
	stateFailure  = "FAILURE"
)

// createJob is the body of POST /oapi/v1/jobs for a preheat
// (types.CreatePreheatJobRequest). No scheduler_cluster_ids: every
// cluster with an active scheduler that can preheat.
type createJob struct {
	Type string      `json:"type"`
	BIO  string      `json:"bio,omitempty"`
	Args preheatArgs `json:"args"`
}

// preheatArgs are a preheat's args (types.PreheatArgs): an image by its
// manifest URL, pulled with the given headers. The manager fetches the
// manifest (following an index to the manager's own platform) and makes
// one task per blob it references for each scheduler cluster, which
// hands the blob's URL, with the same headers, to its seed peers.
type preheatArgs struct {
	Type    string            `json:"type"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	Scope   string            `json:"scope"`
}

// job is what the manager answers for a job (models.Job): its numeric id,
// state, and in result the group's state with each task's.
type job struct {
	ID     uint64 `json:"id"`
	State  string `json:"state"`
	Result *struct {
		State     string `json:"state"`
		JobStates []struct {
			State string `json:"state"`
			Error string `json:"error"`
		} `json:"job_states"`
	} `json:"result"`
}

// Preheat creates a preheat job of type image for img.URL. The manager
// fetches the manifest before it answers, so an image it cannot read (a
// manifest that does not exist, headers that do not let it pull, no
// scheduler able to preheat) is refused at once: Preheat then returns a
// failed job, without an ID, whose Message is the manager's explanation.
// So does an image the provider cannot ask for (no http or https URL, a
// scope Dragonfly has no match for). Errors are left for what may pass:
// the manager unreachable, credentials refused (ErrUnauthorized), its
// rate limit, a gateway's 5xx and answers that are not a job
// (ErrUnexpectedAnswer).
func (p *provider) Preheat(ctx context.Context, img preheat.Image) (preheat.Job, error) {
	u, err := url.Parse(img.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return failed("Dragonfly preheats an image by its manifest's http or https URL, got %q", img.URL), nil
	}
	var scope string
	switch img.Scope {
	case "", preheat.ScopeSinglePeer:
		scope = scopeSingleSeedPeer
	case preheat.ScopeAllPeers:
		scope = scopeAllPeers
	default:
		return failed("Dragonfly has no preheat scope for %q", img.Scope), nil
	}
	body := createJob{
		Type: "preheat",
		BIO:  clip("Berth preheat of " + reference(img)),
		Args: preheatArgs{Type: "image", URL: img.URL, Headers: img.Headers, Scope: scope},
	}
	b, err := p.do(ctx, http.MethodPost, jobsPath, body)
	if err != nil {
		var he *httpError
		if errors.As(err, &he) && refused(he.status) {
			msg := he.message
			if msg == "" {
				msg = http.StatusText(he.status)
			}
			return failed("Dragonfly refused the preheat of %s (HTTP %d): %s", img.URL, he.status, msg), nil
		}
		return preheat.Job{}, fmt.Errorf("dragonfly: preheat: %w", unknownJobIsUnexpected(err))
	}
	j, err := decodeJob(b, 0)
	if err != nil {
		return preheat.Job{}, fmt.Errorf("dragonfly: preheat: %w", err)
	}
	return j, nil
}

// Job reads the job with the given id (GET /oapi/v1/jobs/<id>).
//
// The manager of v2.3.0 may answer a read that runs while its own poller
// reads the job to update it with a partial job: id 0, and only the state
// and result the poller is writing, this job's. Its database layer hands
// a query the result of an identical one in flight (go-gorm/caches with
// Easer on, manager/database/database.go), the poller chains its update
// onto its read (manager/service/job.go pollingJob), which swaps the
// result being handed over, and the partial answer then stays in the
// layer's query cache until the manager's next write or for 30 s
// (manager/database/cacher.go). Job takes such an answer as this job's:
// the query was for this id alone.
func (p *provider) Job(ctx context.Context, id string) (preheat.Job, error) {
	n, err := strconv.ParseUint(id, 10, 64)
	if err != nil || n == 0 || strconv.FormatUint(n, 10) != id {
		return preheat.Job{}, fmt.Errorf("%w: %q is not a manager's job id", ErrUnknownJob, id)
	}
	b, err := p.do(ctx, http.MethodGet, jobsPath+"/"+id, nil)
	if err != nil {
		return preheat.Job{}, fmt.Errorf("dragonfly: job %s: %w", id, err)
	}
	j, err := decodeJob(b, n)
	if err != nil {
		return preheat.Job{}, fmt.Errorf("dragonfly: job %s: %w", id, err)
	}
	return j, nil
}

// refused reports whether a status to a job creation means the manager
// will not run this job (a final failure) rather than "not now" or "not
// with these credentials": its 4xx but 401, 403, 404 (no such API: the
// URL is not a manager's) and 429 (its rate limit), and its 500, which
// its error middleware answers for an image it cannot read.
func refused(status int) bool {
	switch status {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusTooManyRequests:
		return false
	case http.StatusInternalServerError:
		return true
	}
	return status >= 400 && status < 500
}

// unknownJobIsUnexpected turns a 404 to a creation (no open API there)
// from ErrUnknownJob into ErrUnexpectedAnswer.
func unknownJobIsUnexpected(err error) error {
	if errors.Is(err, ErrUnknownJob) {
		return fmt.Errorf("%w: %v", ErrUnexpectedAnswer, err)
	}
	return err
}

// decodeJob maps a manager's job onto a preheat.Job. want is the id
// asked for: the answer must be that job, or the partial answer Job
// describes (id 0), which is taken as it; 0 (a creation's answer) wants
// any job with an id.
func decodeJob(b []byte, want uint64) (preheat.Job, error) {
	var j job
	if err := json.Unmarshal(b, &j); err != nil {
		return preheat.Job{}, fmt.Errorf("%w: not a job: %v", ErrUnexpectedAnswer, err)
	}
	switch {
	case j.ID == 0 && want == 0:
		return preheat.Job{}, fmt.Errorf("%w: a job without an id: %s", ErrUnexpectedAnswer, clip(string(b)))
	case j.ID == 0:
		j.ID = want
	case want != 0 && j.ID != want:
		return preheat.Job{}, fmt.Errorf("%w: the answer is job %d", ErrUnexpectedAnswer, j.ID)
	}
	out := preheat.Job{ID: strconv.FormatUint(j.ID, 10)}
	switch j.State {
	case stateSuccess:
		out.Status = preheat.StatusSuccess
	case stateFailure:
		out.Status = preheat.StatusFailed
		out.Message = failureMessage(j)
	case statePending, stateReceived, stateStarted, stateRetry:
		out.Status = preheat.StatusPending
		if j.State != statePending || j.started() {
			out.Status = preheat.StatusRunning
		}
	default:
		return preheat.Job{}, fmt.Errorf("%w: job %d in unknown state %q", ErrUnexpectedAnswer, j.ID, j.State)
	}
	return out, nil
}

// started reports whether a task of j has been taken by a scheduler: the
// group stays PENDING until all succeeded, its tasks say more.
func (j job) started() bool {
	if j.Result == nil {
		return false
	}
	for _, t := range j.Result.JobStates {
		if t.State != "" && t.State != statePending {
			return true
		}
	}
	return false
}

// failureMessage joins the distinct errors of j's failed tasks; without
// any (the manager gave up polling the group), it says so.
func failureMessage(j job) string {
	var msgs []string
	seen := map[string]bool{}
	if j.Result != nil {
		for _, t := range j.Result.JobStates {
			e := strings.TrimSpace(t.Error)
			if e != "" && !seen[e] {
				seen[e] = true
				msgs = append(msgs, e)
			}
		}
	}
	if len(msgs) == 0 {
		return fmt.Sprintf("Dragonfly job %d failed without a task error (the manager may have stopped polling it)", j.ID)
	}
	return clip("Dragonfly job " + strconv.FormatUint(j.ID, 10) + " failed: " + strings.Join(msgs, "; "))
}

// failed is a final failed job without an id: what Preheat returns for a
// preheat that never became a manager's job.
func failed(format string, args ...any) preheat.Job {
	return preheat.Job{Status: preheat.StatusFailed, Message: clip(fmt.Sprintf(format, args...))}
}

// reference is img as "repository:tag@digest", for the job's bio.
func reference(img preheat.Image) string {
	s := img.Repository
	if img.Tag != "" {
		s += ":" + img.Tag
	}
	if img.Digest != "" {
		s += "@" + img.Digest
	}
	if s == "" {
		s = img.URL
	}
	return s
}
