// Package dragonfly is the preheat.Provider of Dragonfly
// (d7y.io/dragonfly/v2), the CNCF P2P distribution system: Berth asks a
// Dragonfly manager to pull an artifact's blobs into its seed peers
// before the nodes pull it.
//
// It speaks the manager's open API, as the manager of Dragonfly v2.3.0
// serves it (github.com/dragonflyoss/dragonfly, tag v2.3.0:
// manager/router/router.go for the routes, manager/handlers/job.go and
// manager/types/job.go for the requests, manager/models/job.go for the
// answers; the documentation is docs/advanced-guides/open-api/preheat.md
// of github.com/dragonflyoss/d7y.io):
//
//   - GET /healthy answers 200 while the manager runs (no credentials).
//   - POST /oapi/v1/jobs with {"type": "preheat", "args": {"type":
//     "image", "url": <manifest URL>, "headers": {...}, "scope": ...}}
//     creates a job. The manager fetches the manifest first, with the
//     headers (Berth's short-lived pull token), and makes one task per
//     blob the manifest references for each scheduler cluster; each
//     cluster's scheduler has a seed peer pull the blob from the registry
//     with the same headers. The answer is the job: a numeric id and
//     state PENDING.
//   - GET /oapi/v1/jobs/<id> reads the job: state PENDING until every task
//     succeeded (SUCCESS) or one failed (FAILURE, each task's error in
//     result.job_states).
//
// The manager keeps a job's args, the headers among them, in its database
// and shows them in its job listings: the pull token Berth sends there is
// short-lived and grants pull on the one repository.
//
// The open API takes "Authorization: Bearer <personal access token>", a
// token made in the manager's console with the job scope: so an instance
// is configured with auth mode OAUTH and auth_info token (New checks it is
// there; Health checks the manager takes it).
//
// Harbor's scopes map onto Dragonfly's: single_peer (and none) is
// single_seed_peer, one seed peer of each scheduler cluster; all_peers is
// all_peers, every peer, which Dragonfly's scheduler does only with
// peers that speak its v2 protocol (the Rust client).
//
// The job's states map onto preheat.Status: PENDING is StatusPending, or
// StatusRunning once a scheduler took one of its tasks; SUCCESS is
// StatusSuccess; FAILURE is StatusFailed, with the tasks' errors as the
// message. The manager updates a job's state by polling its tasks, first
// at once and then after 30 to 60 seconds, so a job seldom ends sooner
// than that.
//
// Failures: an image the manager cannot read (a manifest that does not
// exist, headers that do not let it pull, no scheduler that can preheat)
// is refused when the job is created; Preheat returns that as a failed
// job without an ID, with the manager's message. Errors are for what may
// pass or what the instance's configuration must fix: the manager
// unreachable, ErrUnauthorized, ErrUnexpectedAnswer. Every answer is read
// up to a bound.
//
// The package is tested against a real Dragonfly v2.3.0 (manager on
// PostgreSQL, scheduler, a Go seed peer; internal/testdragonfly) and a
// real Berth: run the tests under scripts/postgres.sh and
// scripts/dragonfly.sh. Without them, the real tests skip.
package dragonfly
