package cveexport

import (
	"fmt"
	"net/url"
	"time"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/meta"
)

// The statuses of an execution (Harbor's job statuses).
const (
	StatusPending = "Pending"
	StatusRunning = "Running"
	StatusSuccess = "Success"
	StatusError   = "Error"
	StatusStopped = "Stopped"
)

// TriggerManual is the trigger of every export (asked for by a caller).
const TriggerManual = "MANUAL"

// Execution is one export: what was asked, by whom, where it stands, and
// the file it made.
type Execution struct {
	// ID is the export's job id.
	ID uint64 `json:"id"`
	// User is the account that asked; Principal what it was then.
	User      string         `json:"user"`
	Principal auth.Principal `json:"principal"`
	// Request is what was asked, with project ids resolved to names.
	Request Request `json:"request"`
	// Status is where it stands; StatusText says why it failed, or that
	// the file was cut at the size limit.
	Status     string `json:"status"`
	StatusText string `json:"statusText,omitempty"`
	Trigger    string `json:"trigger"`
	// StartTime and EndTime bound it.
	StartTime time.Time `json:"startTime"`
	EndTime   time.Time `json:"endTime,omitzero"`
	// Rows, Bytes and Chunks describe the file; Truncated says it stopped
	// at the size limit.
	Rows      int   `json:"rows"`
	Bytes     int64 `json:"bytes"`
	Chunks    int   `json:"chunks"`
	Truncated bool  `json:"truncated,omitempty"`
}

// FilePresent reports whether the export's file can be downloaded.
func (e Execution) FilePresent() bool { return e.Status == StatusSuccess && e.Chunks > 0 }

// Active reports whether the export is waiting or running.
func (e Execution) Active() bool { return e.Status == StatusPending || e.Status == StatusRunning }

// Filename is the name the file is downloaded under.
func (e Execution) Filename() string { return fmt.Sprintf("cve_export_%d.csv", e.ID) }

// The record kinds.
const (
	// kindExecutions holds the executions, by owner and id.
	kindExecutions = "cveExports"
	// kindChunks holds the files, by execution id and chunk number.
	kindChunks = "cveExportChunks"
)

// executions is the typed table of kindExecutions.
var executions = meta.RecordType[Execution]{Kind: kindExecutions, Key: func(e Execution) string { return executionKey(e.User, e.ID) }}

// ownerPrefix starts the keys of user's executions.
func ownerPrefix(user string) string { return url.PathEscape(user) + " " }

// executionKey is the key of user's execution id.
func executionKey(user string, id uint64) string { return ownerPrefix(user) + fmt.Sprintf("%020d", id) }

// chunkPrefix starts the keys of execution id's chunks.
func chunkPrefix(id uint64) string { return fmt.Sprintf("%020d/", id) }

// chunkKey is the key of chunk n of execution id's file.
func chunkKey(id uint64, n int) string { return chunkPrefix(id) + fmt.Sprintf("%06d", n) }

// payload is an export job's input.
type payload struct {
	User string `json:"user"`
}
