// Package preheat pushes artifacts into P2P distribution systems
// (Dragonfly, Kraken) before anyone pulls them: Harbor's P2P preheat.
// A Provider is one vendor's API (subpackages dragonfly and kraken);
// instances, policies, executions and tasks are kept in the metadata
// store and run on the job queue.
//
// # Instances, policies, executions, tasks
//
// An Instance is one provider cluster: a vendor registered with
// WithProvider, an http(s) endpoint, credentials (AuthMode NONE, BASIC
// with AuthInfo "username" and "password", OAUTH with "token"), whether
// it is enabled, the default, and whether its TLS certificate goes
// unverified (Insecure). Its secrets are write-only: nothing the Service
// returns carries them, and an update that leaves one out keeps the
// stored one while the endpoint and auth mode stay (after a change of
// either, secrets must be given again: a secret is never sent where it
// was not given for). Its status is what the last health check found
// (PingInstance, and the check before each execution). An instance a
// policy uses cannot be deleted or disabled (ErrInUse); names and
// endpoints are unique (ErrExists).
//
// A Policy belongs to a project: it names an instance (provider_id),
// Filters, a Trigger (manual, scheduled with a cron spec, or event_based)
// and a scope. Filters are Harbor's, applied in its order: repository and
// tag doublestar patterns (the repository's name inside the project),
// labels the artifact must all carry, a signature (Artifacts.Signed), and
// a vulnerability severity at or above which the artifact is left out
// (and so is an artifact without a successful scan). Only images and
// image indexes are preheated, one task per digest (its first tag in
// repository and tag order); cosign's attachment tags never are.
//
// An Execution is one run of a policy, triggered MANUAL (Start),
// SCHEDULE or EVENT; a Task preheats one artifact. A RunKind job selects
// the artifacts through the filters (over Artifacts, which the server
// implements over the store and the label, trust and scan packages),
// checks the instance's health, and creates the tasks with one TaskKind
// job each. A task's first job asks the provider to preheat the image
// "<WithRegistryURL>/v2/<repository>/manifests/<tag>" with the headers
// WithPullCredentials makes (retried up to TaskAttempts times through the
// queue's backoff); each later job reads the provider job's status once
// and, until it is done, enqueues the next read due a poll interval
// later (WithPolling, default 10 s): no goroutine waits, and a task not
// done within the task timeout after its request (default 30 min) fails.
// A task's status, message and a timestamped log (the last
// MaxTaskLogBytes) are kept; the execution counts its tasks by status and
// ends with the last: Error if one failed, else Stopped if one was
// stopped, else Success. Stop stops the tasks not yet ended and the
// execution (a provider job already started runs on: providers have no
// cancel). A task whose job dies on its last attempt without recording
// an outcome (its runner killed each time) stays active until its
// execution is stopped. Scheduled and event runs skip the digests the policy has
// preheated into its instance before; manual runs preheat everything
// they select. The last MaxExecutionsPerPolicy executions of a policy
// are kept.
//
// # Triggers
//
// Scheduled policies are on the job runner's scheduler (WithScheduler,
// Schedule, ScheduleAll): the cron syntax of the jobs package (six
// fields, seconds first, or a descriptor), each tick fired once across
// the instances sharing the store. Every policy change bumps
// PoliciesGeneration, which a server watches to run ScheduleAll again,
// so a policy changed through one instance reaches the others' schedulers
// within the watcher's bound. The event trigger is Consume, an
// events.TxFunc: PUSH_ARTIFACT events start event-based policies whose
// patterns select the pushed tag, and SCANNING_COMPLETED events those
// that filter on vulnerabilities (a scan is what lets an artifact pass
// them), each batch one RunKind job per policy, enqueued exactly once in
// the transaction that moves the consumer's cursor.
//
// # Who may do what
//
// Every rule lives in the Service, so a Go caller and the admin API meet
// the same ones. Instances (and Vendors) are the system administrators'.
// A project's policies, executions, tasks and logs, and the list of
// instances to choose from (ProvidersUnderProject), are for its project
// administrators and the system administrators: Harbor's RBAC matrix
// gives its "preheat-policy" resource to projectAdmin alone, and Berth
// mirrors that; maintainers, developers, guests and limited guests are
// ErrForbidden, and so are robot accounts (Berth's robots hold no
// preheat permission). A caller who may not see the project at all gets
// ErrNotFound, and an anonymous one ErrUnauthenticated.
//
// # Errors and bounds
//
// A refused record is ErrInvalid, a *FieldError naming the field as
// Harbor's JSON spells it ("endpoint", "auth_info.password",
// "filters.repository", "trigger.trigger_setting.cron"); a missing thing
// ErrNotFound (also meta.ErrNotFound); a taken name ErrExists; a bound
// reached ErrLimit (MaxInstances, MaxPoliciesPerProject). An execution
// preheats at most MaxTasksPerExecution artifacts. Providers are reached
// through the outbound guard (WithOutboundGuard), Insecure instances too:
// an endpoint at a literal internal address is refused when stored, and
// any connection to an internal address when it is dialed.
//
// # Wiring
//
// A server makes the Service with New over its store, job queue and
// Artifacts, registers its jobs (Register), schedules the stored
// policies (ScheduleAll, again on PoliciesGeneration), runs Consume as
// the consumer ConsumerName, and deletes a project's policies with it
// (DeleteProject, an accounts.ProjectCleanup).
package preheat
