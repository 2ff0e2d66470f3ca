// Package replication copies artifacts between OCI registries: Berth and
// any registry that speaks the distribution API (another Berth, CNCF
// Distribution, Harbor, zot), through go-containerregistry's client.
//
// The building blocks work on their own: a Filter selects repositories
// and tags (doublestar matches and excludes), labels and artifact types;
// Copy copies one tag or digest — an image, an index with all its
// children, or any artifact — with its referrers and cosign's tag-named
// attachments, transitively, skipping what the destination has (HEAD,
// then a cross-repository mount where Mounts knows a repository holding
// the blob); Plan lists what a Policy selects and Do replicates one Item
// (a copy or a deletion); Run does a whole policy in one goroutine; Limit
// caps an endpoint's bandwidth.
//
// The Engine runs stored policies (PolicyRecord, with endpoints in
// Registry) in push mode (this registry is the source, reached in process
// through registry/inproc) or pull mode (it is the
// destination) as jobs on the job queue: an execution is planned by a
// RunKind job that creates one task, and one TaskKind job, per artifact.
// Tasks retry with the queue's backoff (and each request within a task
// with go-containerregistry's), log what they do, count the bytes they
// send; failed tasks can be run again with Retry and executions stopped
// with Stop. Triggers are manual (Start), cron (Schedule, on the job
// runner's scheduler) and event-based (Consume, an events.Consumer over
// the durable event log: pushes and deletions that happen while a
// destination is down are replayed when it returns). Each execution ends
// with a REPLICATION event, which webhooks can deliver.
//
// The Service (NewService) is how endpoints, policies and executions are
// managed, by a Go caller or the admin API alike: it validates
// (CheckName, CheckEndpoint, CheckPolicy: a *FieldError, ErrInvalid,
// naming the field), runs the transactions and keeps the rules — names
// are unique (ErrExists), an endpoint a policy uses and a policy with an
// execution in progress are not deleted (ErrInUse), passwords are
// write-only; a missing thing is meta.ErrNotFound.
package replication
