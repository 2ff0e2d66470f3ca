package api

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta"
)

// jobJSON is a job of the queue (Berth's; Harbor's job service differs).
type jobJSON struct {
	ID          uint64    `json:"id"`
	Kind        string    `json:"kind"`
	State       string    `json:"state"`
	Attempts    int       `json:"attempts"`
	MaxAttempts int       `json:"max_attempts,omitempty"`
	RunAt       time.Time `json:"run_at"`
	LastError   string    `json:"last_error,omitempty"`
	Worker      string    `json:"worker,omitempty"`
	Created     time.Time `json:"creation_time"`
	Updated     time.Time `json:"update_time"`
	Finished    time.Time `json:"finish_time,omitzero"`
}

func toJobJSON(j meta.Job) jobJSON {
	return jobJSON{ID: j.ID, Kind: j.Kind, State: string(j.State), Attempts: j.Attempts, MaxAttempts: j.MaxAttempts,
		RunAt: j.RunAt, LastError: j.LastError, Worker: j.Worker, Created: j.CreatedAt, Updated: j.UpdatedAt, Finished: j.FinishedAt}
}

// jobQueue returns the queue, or 501 without one.
func (h *Handler) jobQueue() (*jobs.Queue, error) {
	if h.queue == nil {
		return nil, &apiError{status: http.StatusNotImplemented, code: "NOT_IMPLEMENTED", msg: "this server runs no job queue"}
	}
	return h.queue, nil
}

// adminQueue refuses everyone but administrators, and returns the queue.
func (h *Handler) adminQueue(p auth.Principal) (*jobs.Queue, error) {
	if err := adminOnly(p); err != nil {
		return nil, err
	}
	return h.jobQueue()
}

// listJobs is GET /jobs?kind=&state= (administrators).
func (h *Handler) listJobs(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	q, err := h.adminQueue(p)
	if err != nil {
		return err
	}
	pg, err := parsePage(r)
	if err != nil {
		return err
	}
	f := meta.JobFilter{Kind: r.URL.Query().Get("kind"), State: meta.JobState(r.URL.Query().Get("state"))}
	switch f.State {
	case "", meta.JobPending, meta.JobRunning, meta.JobSucceeded, meta.JobDead, meta.JobCanceled:
	default:
		return badRequest("state: %q is not pending, running, succeeded, dead or canceled", f.State)
	}
	all, err := q.List(r.Context(), f, 0, 0)
	if err != nil {
		return err
	}
	list := make([]jobJSON, 0, len(all))
	for _, j := range all {
		list = append(list, toJobJSON(j))
	}
	writePage(w, r, pg, list)
	return nil
}

// jobAction is POST /jobs/{id}/cancel and /jobs/{id}/retry.
func (h *Handler) jobAction(act func(*jobs.Queue, *http.Request, uint64) error) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
		q, err := h.adminQueue(p)
		if err != nil {
			return err
		}
		id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
		if err != nil {
			return badRequest("id: %q is not a job id", r.PathValue("id"))
		}
		err = act(q, r, id)
		switch {
		case errors.Is(err, jobs.ErrFinal):
			return &apiError{status: http.StatusConflict, code: codeConflict, msg: err.Error()}
		case err != nil:
			return toAPIErrorNamed(err, "job "+r.PathValue("id"))
		}
		j, err := q.Get(r.Context(), id)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, toJobJSON(j))
		return nil
	}
}

func (h *Handler) getJob(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	return h.jobAction(func(*jobs.Queue, *http.Request, uint64) error { return nil })(w, r, p)
}
