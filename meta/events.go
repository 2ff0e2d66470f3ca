package meta

import (
	"errors"
	"time"
)

// Event is one entry of the durable change log: what happened, to what, by
// whom, when. Events are appended in the transaction of the change they
// record, so a committed change always has its event.
type Event struct {
	// Seq is the log position, assigned by Append: increasing within one
	// store and never reused, even after Purge or a rollback (project and
	// webhook policy ids are sequence numbers). It need not be gap-free: a
	// rolled-back append leaves no event, and its number is either given
	// again (meta/bolt, whose writers take turns) or never seen (a gap);
	// a backend whose writers run concurrently (meta/postgres) hands out
	// numbers in the order appends happen, not the order they commit.
	Seq uint64 `json:"seq"`
	// Type names the change ("PUSH_ARTIFACT", "DELETE_TAG", …).
	Type string `json:"type"`
	// Time is when it happened (Append sets it when zero).
	Time time.Time `json:"time"`
	// Operator is the account that did it ("" for anonymous or the system).
	Operator string `json:"operator,omitempty"`
	// Project and Repository locate the change, when it has a place.
	Project    string `json:"project,omitempty"`
	Repository string `json:"repository,omitempty"`
	// Digest, Tag, MediaType and Size describe an artifact change.
	Digest    string `json:"digest,omitempty"`
	Tag       string `json:"tag,omitempty"`
	MediaType string `json:"mediaType,omitempty"`
	Size      int64  `json:"size,omitempty"`
	// Resource names the object of a change that is not an artifact (a
	// robot, a member, a project).
	Resource string `json:"resource,omitempty"`
	// Result is "success" or "failure" (failed logins).
	Result string `json:"result,omitempty"`
	// Details carries what else the event type defines.
	Details map[string]string `json:"details,omitempty"`
}

// Events is the durable change log.
type Events interface {
	// Append adds e at the end of the log and returns its sequence number.
	Append(e Event) (uint64, error)
	// List returns up to limit events with Seq > after, in order (limit <=
	// 0: no limit). It never returns an event with Seq s while an append
	// with a number between after and s may still commit: a consumer that
	// read s never misses a smaller number committed later. So it may
	// return fewer events than are committed, stopping before a gap until
	// the gap is settled (the append that took the number rolled back, or
	// its event was purged); a gap settles once every transaction that
	// could hold the number has ended.
	List(after uint64, limit int) ([]Event, error)
	// Last returns the highest sequence number List reaches: every number
	// below it is an event or a settled gap (0: none). A consumer that
	// starts from it misses no event committed later. While appends are in
	// flight, or once the log is purged, it may be below the highest
	// number appended.
	Last() (uint64, error)
	// Purge deletes up to limit of the oldest events whose Time is before
	// t and whose Seq is at most upTo, and returns how many it deleted.
	Purge(before time.Time, upTo uint64, limit int) (int, error)
	// Backward walks the log newest first from just below before (0: from
	// the newest event) and returns up to limit events that match (nil
	// matches all), examining at most maxScan events (<= 0: no bound).
	// The page's Next continues the walk; the work is bounded by the page
	// and maxScan, whatever the log's length.
	Backward(before uint64, limit, maxScan int, match func(Event) bool) (EventPage, error)
}

// EventPage is one page of a newest-first walk of the event log.
type EventPage struct {
	// Events are the matching events, newest first.
	Events []Event
	// Next is the before of the page that continues the walk: the Seq of
	// the last event examined. 0 when the walk reached the oldest event.
	Next uint64
	// Scanned counts the events examined, matching or not.
	Scanned int
}

// Cursor is a consumer's position in the event log: every event up to Seq
// has been handled.
type Cursor struct {
	// Name identifies the consumer.
	Name string `json:"name"`
	// Seq is the last event handled.
	Seq uint64 `json:"seq"`
	// UpdatedAt is when it last moved.
	UpdatedAt time.Time `json:"updatedAt"`
}

// JobState is where a job is in its life.
type JobState string

// The job states. Pending and running jobs are active; the others are
// final.
const (
	JobPending   JobState = "pending"
	JobRunning   JobState = "running"
	JobSucceeded JobState = "succeeded"
	JobDead      JobState = "dead" // failed its last attempt: a dead letter
	JobCanceled  JobState = "canceled"
)

// Active reports a job that has yet to finish.
func (s JobState) Active() bool { return s == JobPending || s == JobRunning }

// ErrDuplicate reports an Enqueue whose Key an existing job holds.
var ErrDuplicate = errors.New("meta: duplicate job key")

// Job is a unit of background work in the queue.
type Job struct {
	// ID is assigned by Enqueue: increasing.
	ID uint64 `json:"id"`
	// Kind selects the handler ("webhook.deliver", "gc", …).
	Kind string `json:"kind"`
	// Key, when set, is unique among all jobs kept: a second Enqueue with
	// it fails with ErrDuplicate (a cron fire enqueued by two instances).
	Key string `json:"key,omitempty"`
	// Payload is the handler's input (JSON by convention).
	Payload []byte `json:"payload,omitempty"`
	// State, Attempts (started so far) and MaxAttempts (0: 1).
	State       JobState `json:"state"`
	Attempts    int      `json:"attempts"`
	MaxAttempts int      `json:"maxAttempts,omitempty"`
	// GivenBack counts the attempts in a row that failed because a
	// backend was unavailable and were not counted in Attempts (the job
	// runner bounds it; a counted failure resets it).
	GivenBack int `json:"givenBack,omitempty"`
	// RunAt is when a pending job is due.
	RunAt time.Time `json:"runAt"`
	// Worker holds a running job's lease until LeaseUntil; an expired
	// lease makes the job available again.
	Worker     string    `json:"worker,omitempty"`
	LeaseUntil time.Time `json:"leaseUntil,omitzero"`
	// LastError is the error of the last failed attempt.
	LastError string `json:"lastError,omitempty"`
	// Result is what the handler reports: progress while it runs, its
	// outcome after (JSON by convention).
	Result []byte `json:"result,omitempty"`
	// CreatedAt, UpdatedAt and FinishedAt bound its life.
	CreatedAt  time.Time `json:"createdAt"`
	UpdatedAt  time.Time `json:"updatedAt"`
	FinishedAt time.Time `json:"finishedAt,omitzero"`
}

// JobFilter selects jobs to list; zero fields select all.
type JobFilter struct {
	Kind  string
	State JobState
}

// Jobs is the job queue.
type Jobs interface {
	// Enqueue adds j as pending (ID, State, Attempts and CreatedAt are
	// set; a zero RunAt is now) and returns it.
	Enqueue(j Job, now time.Time) (Job, error)
	// Get returns the job, or ErrNotFound.
	Get(id uint64) (Job, error)
	// Put replaces an existing job's record (its state changes).
	Put(j Job) error
	// Lease takes the due job (pending with RunAt <= now, or running with
	// a lease expired at now) of one of kinds with the earliest RunAt
	// (then ID), skipping kinds that already have limit[kind] unexpired
	// leases; marks it running for worker until until, with one more
	// attempt; and returns it. ErrNotFound when none is available.
	Lease(kinds []string, limit map[string]int, worker string, now, until time.Time) (Job, error)
	// Due reports whether Lease would find a job of kinds at now (ignoring
	// limits): a read-only check that lets idle runners poll without
	// writing.
	Due(kinds []string, now time.Time) (bool, error)
	// List returns up to limit jobs matching f with ID > after, in ID
	// order.
	List(f JobFilter, after uint64, limit int) ([]Job, error)
	// Delete removes a job, or returns ErrNotFound.
	Delete(id uint64) error
}
