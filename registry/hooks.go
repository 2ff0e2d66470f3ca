package registry

import (
	"context"
	"errors"
	"net/http"

	"github.com/berthreg/berth/internal/outage"
	"github.com/berthreg/berth/meta"
	"github.com/opencontainers/go-digest"
)

// Action names what a request does, for hooks.
type Action string

// The actions hooks see.
const (
	ActionPing           Action = "ping"
	ActionPushBlob       Action = "push-blob"
	ActionMountBlob      Action = "mount-blob"
	ActionPushManifest   Action = "push-manifest"
	ActionPullBlob       Action = "pull-blob"
	ActionPullManifest   Action = "pull-manifest"
	ActionDeleteBlob     Action = "delete-blob"
	ActionDeleteManifest Action = "delete-manifest"
	ActionDeleteTag      Action = "delete-tag"
	ActionListTags       Action = "list-tags"
	ActionListReferrers  Action = "list-referrers"
	ActionCatalog        Action = "catalog"
)

// Event describes one request's effect on a repository.
type Event struct {
	// Action is what the request does.
	Action Action
	// Repository is the repository name ("" for the catalog).
	Repository string
	// Digest is the blob or manifest digest, when known.
	Digest digest.Digest
	// Tags are the tags involved (a manifest push by tag or with ?tag=, a tag delete).
	Tags []string
	// MediaType is the manifest media type on manifest actions.
	MediaType string
	// Size is the blob or manifest size, when known.
	Size int64
	// Subject is the subject of a pushed manifest, if any.
	Subject digest.Digest
	// From is the source repository of a mount ("" for anonymous mounts).
	From string
	// Manifest is the parsed record of a pushed manifest.
	Manifest *meta.Manifest
	// Request is the HTTP request (for principal, remote address, headers).
	Request *http.Request
	// Operator names the account making the request, when the Authorize
	// hook identified one ("" for anonymous requests or without auth).
	Operator string
	// RepositoryCreated is set, for InTx, when the change creates the
	// repository (its first blob or manifest).
	RepositoryCreated bool
	// Upstream, on a pull from a pull-through cache, names the upstream
	// registry the manifest was fetched from for it ("" when the cache
	// served its copy).
	Upstream string
	// Allows, set by an Authorize hook that knows the request's
	// credentials, reports whether they allow action ("pull", "push",
	// "delete") on the event's repository, beyond what this request does:
	// a pull gate may let through whoever may push (nil: unknown).
	Allows func(action string) bool
}

// Hooks let later layers (authorization, quotas, immutability, events,
// scanners) take part in requests without the handler knowing them. Every
// field is optional. A Before hook refusing a request returns an error: an
// *Error picks the response, an error wrapping meta.ErrUnavailable or
// storage.ErrUnavailable (a backend the hook needed is down) becomes 503
// UNAVAILABLE with a Retry-After, anything else becomes 403 DENIED.
type Hooks struct {
	// Authorize runs first for every request under /v2/ with the action it
	// would perform; use it for authentication and access control.
	Authorize func(ctx context.Context, ev *Event) error
	// BeforePush runs before a blob upload starts, a blob is mounted, or a
	// manifest is stored (with the parsed manifest in ev.Manifest).
	BeforePush func(ctx context.Context, ev *Event) error
	// BeforePull runs before blob or manifest bytes are served.
	BeforePull func(ctx context.Context, ev *Event) error
	// BeforeDelete runs before a blob, manifest or tag is deleted.
	BeforeDelete func(ctx context.Context, ev *Event) error
	// InTx runs inside the metadata transaction that records a manifest push
	// or a delete, so its writes (an event log entry, a quota counter)
	// commit atomically with the change. An error aborts the change. Like
	// any meta.Store Update function it may run more than once, so it must
	// keep its effects inside tx.
	InTx func(ctx context.Context, tx meta.Tx, ev *Event) error
	// AfterPush runs after a manifest push (or blob upload) has committed.
	AfterPush func(ctx context.Context, ev *Event)
	// AfterPull runs after manifest bytes were served.
	AfterPull func(ctx context.Context, ev *Event)
	// AfterDelete runs after a delete has committed.
	AfterDelete func(ctx context.Context, ev *Event)
}

func runBefore(ctx context.Context, f func(context.Context, *Event) error, ev *Event) error {
	if f == nil {
		return nil
	}
	if err := f(ctx, ev); err != nil {
		return asDenied(err)
	}
	return nil
}

func runAfter(ctx context.Context, f func(context.Context, *Event), ev *Event) {
	if f != nil {
		f(ctx, ev)
	}
}

// asDenied maps a Before or Authorize hook's refusal: an *Error as it
// is, a backend outage unchanged (writeError answers it 503, not a
// refusal: the client's credentials or rights may be fine), anything
// else 403 DENIED.
func asDenied(err error) error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if outage.Is(err) {
		return err
	}
	return &Error{Status: http.StatusForbidden, Code: CodeDenied, Message: err.Error()}
}

// Chain combines hooks: for each field, the hooks that set it run in the
// order given; a Before, Authorize or InTx hook's error stops the chain.
func Chain(hs ...Hooks) Hooks {
	before := func(pick func(Hooks) func(context.Context, *Event) error) func(context.Context, *Event) error {
		var fs []func(context.Context, *Event) error
		for _, h := range hs {
			if f := pick(h); f != nil {
				fs = append(fs, f)
			}
		}
		if len(fs) == 0 {
			return nil
		}
		return func(ctx context.Context, ev *Event) error {
			for _, f := range fs {
				if err := f(ctx, ev); err != nil {
					return err
				}
			}
			return nil
		}
	}
	after := func(pick func(Hooks) func(context.Context, *Event)) func(context.Context, *Event) {
		var fs []func(context.Context, *Event)
		for _, h := range hs {
			if f := pick(h); f != nil {
				fs = append(fs, f)
			}
		}
		if len(fs) == 0 {
			return nil
		}
		return func(ctx context.Context, ev *Event) {
			for _, f := range fs {
				f(ctx, ev)
			}
		}
	}
	var inTx []func(context.Context, meta.Tx, *Event) error
	for _, h := range hs {
		if h.InTx != nil {
			inTx = append(inTx, h.InTx)
		}
	}
	out := Hooks{
		Authorize:    before(func(h Hooks) func(context.Context, *Event) error { return h.Authorize }),
		BeforePush:   before(func(h Hooks) func(context.Context, *Event) error { return h.BeforePush }),
		BeforePull:   before(func(h Hooks) func(context.Context, *Event) error { return h.BeforePull }),
		BeforeDelete: before(func(h Hooks) func(context.Context, *Event) error { return h.BeforeDelete }),
		AfterPush:    after(func(h Hooks) func(context.Context, *Event) { return h.AfterPush }),
		AfterPull:    after(func(h Hooks) func(context.Context, *Event) { return h.AfterPull }),
		AfterDelete:  after(func(h Hooks) func(context.Context, *Event) { return h.AfterDelete }),
	}
	if len(inTx) > 0 {
		out.InTx = func(ctx context.Context, tx meta.Tx, ev *Event) error {
			for _, f := range inTx {
				if err := f(ctx, tx, ev); err != nil {
					return err
				}
			}
			return nil
		}
	}
	return out
}
