package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/settings"
)

// scheduleObj is Harbor's ScheduleObj.
type scheduleObj struct {
	Type              string     `json:"type"` // Hourly, Daily, Weekly, Custom, Manual, None
	Cron              string     `json:"cron,omitempty"`
	NextScheduledTime *time.Time `json:"next_scheduled_time,omitempty"`
}

// schedule is Harbor's Schedule: when a system job runs, with its
// parameters P.
type schedule[P any] struct {
	Schedule   scheduleObj `json:"schedule"`
	Parameters P           `json:"parameters"`
}

// scheduled is a system job the API schedules (collection, scan-all):
// its name in the scheduler and the settings table, what a run with
// parameters P is, and where a manual run is listed.
type scheduled[P any] struct {
	name   string
	spec   func(P) jobs.Spec
	check  func(P) error
	manual func(jobID uint64) string
}

// set is POST and PUT of a schedule: "Manual" runs the job now (201,
// Location of its run); "None" removes the schedule; the others set it.
func (s scheduled[P]) set(h *Handler, w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	q, err := h.adminQueue(p)
	if err != nil {
		return err
	}
	var req schedule[P]
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if s.check != nil {
		if err := s.check(req.Parameters); err != nil {
			return err
		}
	}
	if req.Schedule.Type == "Manual" {
		j, err := q.Enqueue(r.Context(), s.spec(req.Parameters))
		if err != nil {
			return err
		}
		created(w, s.manual(j.ID))
		return nil
	}
	if h.scheduler == nil {
		return &apiError{status: http.StatusNotImplemented, code: "NOT_IMPLEMENTED", msg: "this server has no scheduler"}
	}
	spec := ""
	if req.Schedule.Type != "None" {
		if spec, err = cronOf(req.Schedule.Type, req.Schedule.Cron); err != nil {
			return err
		}
	}
	req.Schedule.Cron, req.Schedule.NextScheduledTime = spec, nil
	raw, _ := json.Marshal(req)
	if err := h.store.Update(r.Context(), func(tx meta.Tx) error {
		return settings.Save(tx, s.name, req, time.Now())
	}); err != nil {
		return err
	}
	if err := s.apply(h.scheduler, raw); err != nil {
		return err
	}
	if r.Method == http.MethodPost {
		w.WriteHeader(http.StatusCreated)
	} else {
		w.WriteHeader(http.StatusOK)
	}
	return nil
}

// apply sets the schedule a stored setting describes on sch.
func (s scheduled[P]) apply(sch Scheduler, setting []byte) error {
	var sc schedule[P]
	if err := json.Unmarshal(setting, &sc); err != nil {
		return fmt.Errorf("%s setting: %w", s.name, err)
	}
	if sc.Schedule.Type == "None" || sc.Schedule.Cron == "" {
		sch.Unschedule(s.name)
		return nil
	}
	return sch.Schedule(s.name, sc.Schedule.Cron, s.spec(sc.Parameters))
}

// get is GET of a schedule, with its next run.
func (s scheduled[P]) get(h *Handler, w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := adminOnly(p); err != nil {
		return err
	}
	var out schedule[P]
	out.Schedule.Type = "None"
	err := h.store.View(r.Context(), func(tx meta.Tx) error {
		_, err := settings.Load(tx, s.name, &out)
		return err
	})
	if err != nil {
		return err
	}
	if h.scheduler != nil {
		if _, next, ok := h.scheduler.ScheduleOf(s.name); ok {
			out.Schedule.NextScheduledTime = &next
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// cronOf is the cron spec (seconds first) of a schedule type.
func cronOf(typ, custom string) (string, error) {
	switch typ {
	case "Hourly":
		return "0 0 * * * *", nil
	case "Daily":
		return "0 0 0 * * *", nil
	case "Weekly":
		return "0 0 0 * * 0", nil
	case "Custom":
		if err := jobs.ValidSchedule(custom); err != nil {
			return "", badRequest("schedule.cron: %q: %v", custom, err)
		}
		return custom, nil
	}
	return "", badRequest("schedule.type: %q is not Hourly, Daily, Weekly, Custom, Manual or None", typ)
}

// jobPath is the path of a job below Prefix.
func jobPath(id uint64) string { return "/jobs/" + strconv.FormatUint(id, 10) }
