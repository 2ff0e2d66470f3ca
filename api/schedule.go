package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/jobs"
)

// WithSchedules serves the stored schedules of system jobs (/system/gc/
// schedule, /system/scanAll/schedule) from s, which a server also applies
// at start (jobs.Schedules.ApplyStored); it must know gc.ScheduledJob and
// engine.ScanAllJob. Without it, the schedules are read from the store
// and "Manual" runs work, but changes are 501: there is no scheduler.
func WithSchedules(s *jobs.Schedules) Option { return func(h *Handler) { h.schedules = s } }

// scheduleObj is Harbor's ScheduleObj.
type scheduleObj struct {
	Type              string     `json:"type"` // Hourly, Daily, Weekly, Custom, Manual, None
	Cron              string     `json:"cron,omitempty"`
	NextScheduledTime *time.Time `json:"next_scheduled_time,omitempty"`
}

// schedule is Harbor's Schedule: when a system job runs, with its
// parameters (the job's to check: see jobs.Schedules).
type schedule struct {
	Schedule   scheduleObj     `json:"schedule"`
	Parameters json.RawMessage `json:"parameters"`
}

// scheduled is a system job the API schedules (collection, scan-all):
// its schedule's name in jobs.Schedules, and where a manual run is
// listed.
type scheduled struct {
	name   string
	manual func(jobID uint64) string
}

// schedulesOf returns the handler's schedules, 501 without any.
func (h *Handler) schedulesOf() (*jobs.Schedules, error) {
	if h.schedules == nil {
		return nil, &apiError{status: http.StatusNotImplemented, code: "NOT_IMPLEMENTED", msg: "this server has no scheduler"}
	}
	return h.schedules, nil
}

// set is POST and PUT of a schedule: "Manual" runs the job now (201,
// Location of its run); "None" removes the schedule; the others set it.
func (s scheduled) set(h *Handler, w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	q, err := h.adminQueue(p)
	if err != nil {
		return err
	}
	ss, err := h.schedulesOf()
	if err != nil {
		return err
	}
	var req schedule
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.Schedule.Type == "Manual" {
		j, err := ss.RunNow(r.Context(), q, s.name, req.Parameters)
		if err != nil {
			return err
		}
		created(w, s.manual(j.ID))
		return nil
	}
	if _, err := ss.Set(r.Context(), s.name, jobs.Schedule{Type: req.Schedule.Type, Cron: req.Schedule.Cron, Parameters: req.Parameters}); err != nil {
		return err
	}
	if r.Method == http.MethodPost {
		w.WriteHeader(http.StatusCreated)
	} else {
		w.WriteHeader(http.StatusOK)
	}
	return nil
}

// get is GET of a schedule, with its next run.
func (s scheduled) get(h *Handler, w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := adminOnly(p); err != nil {
		return err
	}
	ss, err := h.schedulesOf()
	if err != nil {
		return err
	}
	sc, err := ss.Get(r.Context(), s.name)
	if err != nil {
		return err
	}
	out := schedule{Schedule: scheduleObj{Type: sc.Type, Cron: sc.Cron}, Parameters: sc.Parameters}
	if !sc.Next.IsZero() {
		out.Schedule.NextScheduledTime = &sc.Next
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// jobPath is the path of a job below Prefix.
func jobPath(id uint64) string { return "/jobs/" + strconv.FormatUint(id, 10) }
