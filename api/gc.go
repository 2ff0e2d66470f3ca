package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/gc"
	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta"
)

// gcSchedule is the collection's schedule (gc.ScheduledJob).
var gcSchedule = scheduled{
	name:   gc.ScheduleName,
	manual: func(id uint64) string { return "/system/gc/" + strconv.FormatUint(id, 10) },
}

// setGCSchedule is POST and PUT /system/gc/schedule: "Manual" runs a
// collection now (201, Location of its history entry); "None" removes the
// schedule; the others set it.
func (h *Handler) setGCSchedule(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	return gcSchedule.set(h, w, r, p)
}

// getGCSchedule is GET /system/gc/schedule.
func (h *Handler) getGCSchedule(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	return gcSchedule.get(h, w, r, p)
}

// gcHistory is Harbor's GCHistory, plus Berth's progress (phase, counts,
// ETA, report).
type gcHistory struct {
	ID            uint64          `json:"id"`
	JobName       string          `json:"job_name"`
	JobKind       string          `json:"job_kind"` // MANUAL or SCHEDULE
	JobParameters string          `json:"job_parameters"`
	JobStatus     string          `json:"job_status"`
	Deleted       bool            `json:"deleted"`
	CreationTime  time.Time       `json:"creation_time"`
	UpdateTime    time.Time       `json:"update_time"`
	Progress      json.RawMessage `json:"progress,omitempty"`
}

// harborStatus is Harbor's job_status of a job state.
var harborStatus = map[meta.JobState]string{
	meta.JobPending: "Pending", meta.JobRunning: "Running", meta.JobSucceeded: "Success",
	meta.JobDead: "Error", meta.JobCanceled: "Stopped",
}

func toGCHistory(j meta.Job) gcHistory {
	kind := "MANUAL"
	if strings.HasPrefix(j.Key, "cron:") {
		kind = "SCHEDULE"
	}
	return gcHistory{ID: j.ID, JobName: "GARBAGE_COLLECTION", JobKind: kind, JobParameters: string(j.Payload),
		JobStatus: harborStatus[j.State], CreationTime: j.CreatedAt, UpdateTime: j.UpdatedAt, Progress: j.Result}
}

// listGC is GET /system/gc: collections, newest first.
func (h *Handler) listGC(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	q, err := h.adminQueue(p)
	if err != nil {
		return err
	}
	pg, err := parsePage(r)
	if err != nil {
		return err
	}
	all, err := q.List(r.Context(), meta.JobFilter{Kind: gc.JobKind}, 0, 0)
	if err != nil {
		return err
	}
	var list []gcHistory
	for _, j := range slices.Backward(all) {
		list = append(list, toGCHistory(j))
	}
	writePage(w, r, pg, list)
	return nil
}

// gcJob loads the collection the path names.
func (h *Handler) gcJob(r *http.Request, p auth.Principal) (*jobs.Queue, meta.Job, error) {
	q, err := h.adminQueue(p)
	if err != nil {
		return nil, meta.Job{}, err
	}
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil {
		return nil, meta.Job{}, badRequest("gc_id: %q is not an id", r.PathValue("id"))
	}
	j, err := q.Get(r.Context(), id)
	if err == nil && j.Kind != gc.JobKind {
		err = meta.ErrNotFound
	}
	if err != nil {
		return nil, j, toAPIErrorNamed(err, "gc "+r.PathValue("id"))
	}
	return q, j, nil
}

func (h *Handler) getGC(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	_, j, err := h.gcJob(r, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toGCHistory(j))
	return nil
}

// gcLog is GET /system/gc/{id}/log: the collection's report as text.
func (h *Handler) gcLog(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	_, j, err := h.gcJob(r, p)
	if err != nil {
		return err
	}
	var pr gc.Progress
	_ = json.Unmarshal(j.Result, &pr)
	rep := pr.Report
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "collection %d: %s (phase %s, %d of %d)\n", j.ID, harborStatus[j.State], pr.Phase, pr.Done, pr.Total)
	fmt.Fprintf(w, "dry run: %v\nmarked: %d manifests, %d blobs\n", rep.DryRun, rep.Plan.MarkedManifests, rep.Plan.MarkedBlobs)
	fmt.Fprintf(w, "planned: %d manifests, %d blobs, %d uploads, %d bytes\n", len(rep.Plan.Manifests), len(rep.Plan.Blobs), len(rep.Plan.Uploads), rep.Plan.Bytes())
	fmt.Fprintf(w, "deleted: %d manifests, %d blobs, %d uploads, %d orphans; skipped (in use again): %d; freed %d bytes\n",
		rep.DeletedManifests, rep.DeletedBlobs, rep.AbortedUploads, rep.DeletedOrphans, rep.Skipped, rep.FreedBytes)
	if j.LastError != "" {
		fmt.Fprintf(w, "error: %s\n", j.LastError)
	}
	return nil
}

// stopGC is PUT /system/gc/{id}: Harbor's stop.
func (h *Handler) stopGC(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	q, j, err := h.gcJob(r, p)
	if err != nil {
		return err
	}
	if err := q.Cancel(r.Context(), j.ID); err != nil {
		if errors.Is(err, jobs.ErrFinal) {
			return &apiError{status: http.StatusConflict, code: codeConflict, msg: err.Error()}
		}
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
