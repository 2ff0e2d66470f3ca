package dragonfly

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/berthreg/berth/preheat"
)

// TestDecodeJob maps answers shaped as the manager of v2.3.0 gives them
// (the job's fields trimmed to those read; the partial answer is one the
// real manager gave in TestRealDragonfly, see Job) onto preheat.Job.
func TestDecodeJob(t *testing.T) {
	for _, c := range []struct {
		name string
		body string
		want uint64
		job  preheat.Job
	}{
		{"created", `{"id":7,"task_id":"group_x","type":"preheat","state":"PENDING","result":null}`, 0,
			preheat.Job{ID: "7", Status: preheat.StatusPending}},
		{"tasks pending", `{"id":7,"state":"PENDING","result":{"state":"PENDING","job_states":[{"state":"PENDING","error":""}]}}`, 7,
			preheat.Job{ID: "7", Status: preheat.StatusPending}},
		{"a task started", `{"id":7,"state":"PENDING","result":{"state":"PENDING","job_states":[{"state":"SUCCESS"},{"state":"STARTED"}]}}`, 7,
			preheat.Job{ID: "7", Status: preheat.StatusRunning}},
		{"started", `{"id":7,"state":"STARTED"}`, 7, preheat.Job{ID: "7", Status: preheat.StatusRunning}},
		{"success", `{"id":7,"state":"SUCCESS","result":{"state":"SUCCESS","job_states":[{"state":"SUCCESS"}]}}`, 7,
			preheat.Job{ID: "7", Status: preheat.StatusSuccess}},
		{"failure", `{"id":7,"state":"FAILURE","result":{"state":"FAILURE","job_states":[
			{"state":"SUCCESS","error":""},
			{"state":"FAILURE","error":"rpc error: code = Aborted desc = source response 404/404 Not Found is not valid"},
			{"state":"FAILURE","error":"rpc error: code = Aborted desc = source response 404/404 Not Found is not valid"},
			{"state":"FAILURE","error":"context deadline exceeded"}]}}`, 7,
			preheat.Job{ID: "7", Status: preheat.StatusFailed, Message: "Dragonfly job 7 failed: rpc error: code = Aborted desc = source response 404/404 Not Found is not valid; context deadline exceeded"}},
		{"failure without task errors", `{"id":7,"state":"FAILURE","result":null}`, 7,
			preheat.Job{ID: "7", Status: preheat.StatusFailed, Message: "Dragonfly job 7 failed without a task error (the manager may have stopped polling it)"}},
		{"partial", `{"id":0,"created_at":"0001-01-01T00:00:00Z","task_id":"","type":"","state":"FAILURE","args":null,"result":{"group_uuid":"group_x","job_states":[{"state":"FAILURE","error":"boom"}],"state":"FAILURE"}}`, 9,
			preheat.Job{ID: "9", Status: preheat.StatusFailed, Message: "Dragonfly job 9 failed: boom"}},
	} {
		got, err := decodeJob([]byte(c.body), c.want)
		if err != nil || got != c.job {
			t.Errorf("%s: decodeJob = %+v, %v; want %+v", c.name, got, err, c.job)
		}
	}
	for _, c := range []struct {
		name string
		body string
		want uint64
	}{
		{"not JSON", `<html>bad gateway</html>`, 7},
		{"another job", `{"id":8,"state":"SUCCESS"}`, 7},
		{"no id on creation", `{"id":0,"state":"PENDING"}`, 0},
		{"unknown state", `{"id":7,"state":"REVOKED"}`, 7},
		{"no state", `{"id":7}`, 7},
	} {
		if got, err := decodeJob([]byte(c.body), c.want); !errors.Is(err, ErrUnexpectedAnswer) {
			t.Errorf("%s: decodeJob = %+v, %v; want ErrUnexpectedAnswer", c.name, got, err)
		}
	}
}

// TestMessageOf reads the manager's error answers: its error
// middleware's, a handler's binding error, the open API's refusals, and
// a body from something else.
func TestMessageOf(t *testing.T) {
	for body, want := range map[string]string{
		`{"message":"manifest unknown: manifest no-such-tag is not known in this repository"}`:             "manifest unknown: manifest no-such-tag is not known in this repository",
		`{"errors":"Key: 'PreheatArgs.Type' Error:Field validation for 'Type' failed on the 'oneof' tag"}`: "Key: 'PreheatArgs.Type' Error:Field validation for 'Type' failed on the 'oneof' tag",
		`{"message":"Token doesn't have permission to access this resource. Required permission: job"}`:    "Token doesn't have permission to access this resource. Required permission: job",
		`{"errors":["a","b"]}`: `["a","b"]`,
		"  502 Bad Gateway\n":  "502 Bad Gateway",
		`{"unrelated":true}`:   `{"unrelated":true}`,
		``:                     "",
	} {
		if got := messageOf([]byte(body)); got != want {
			t.Errorf("messageOf(%q) = %q, want %q", body, got, want)
		}
	}
	long := strings.Repeat("é", 2000)
	got := clip(long)
	if !utf8.ValidString(got) || !strings.HasSuffix(got, "...") || len(got) > 1024+3 {
		t.Errorf("clip of %d bytes: %d bytes, valid UTF-8 %v", len(long), len(got), utf8.ValidString(got))
	}
}
