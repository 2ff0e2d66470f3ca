package artifact

import (
	"context"
	"errors"
	"net/http"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/storage"
)

// Errors the Service returns (wrapped, with details), beside
// meta.ErrNotFound for what does not exist or may not be seen.
var (
	// ErrInvalid reports a bad argument; an *InputError names it.
	ErrInvalid = errors.New("artifact: invalid")
	// ErrForbidden reports a caller who may see but not do this.
	ErrForbidden = errors.New("artifact: forbidden")
	// ErrUnauthenticated reports an anonymous caller asking for
	// something only a signed-in one may do.
	ErrUnauthenticated = errors.New("artifact: authentication required")
	// ErrExists reports a tag that already exists.
	ErrExists = errors.New("artifact: already exists")
	// ErrNoRegistry reports a write or a content read without
	// WithRegistry or WithContent.
	ErrNoRegistry = errors.New("artifact: no registry to go through")
)

// InputError is an ErrInvalid naming the field at fault.
type InputError struct {
	// Field is the argument or query field.
	Field string
	// Msg says what is wrong with it.
	Msg string
}

// Error names the field and says what is wrong with it.
func (e *InputError) Error() string { return e.Field + ": " + e.Msg }

// Unwrap makes the error match ErrInvalid.
func (e *InputError) Unwrap() error { return ErrInvalid }

func invalid(field, msg string) error { return &InputError{Field: field, Msg: msg} }

// Projects is what the Service needs of the accounts: projects as a
// caller sees them (*accounts.Manager implements it).
type Projects interface {
	// GetProject returns project name, or meta.ErrNotFound when it does
	// not exist or p may not see it.
	GetProject(ctx context.Context, p auth.Principal, name string) (accounts.Project, error)
	// ListProjects returns a page of the projects p may see.
	ListProjects(ctx context.Context, p auth.Principal, f accounts.ProjectFilter, pg accounts.Page) ([]accounts.Project, int, error)
}

// Service reads and changes the registry's repositories and artifacts
// for a caller. Make one with New.
type Service struct {
	store    meta.Store
	authz    auth.Authorizer
	projects Projects
	local    http.RoundTripper
	content  storage.Driver
	// immutable reports whether a rule holds tag of repo.
	immutable func(ctx context.Context, repo, tag string) (bool, error)
}

// Option configures New.
type Option func(*Service)

// WithRegistry makes the Service write (delete artifacts and tags, add
// tags, copy) through the registry reached by rt, an in-process
// transport to it (registry/inproc) that keeps the request's context,
// so the caller's principal (auth.WithPrincipal) is who acts.
func WithRegistry(rt http.RoundTripper) Option { return func(s *Service) { s.local = rt } }

// WithContent lets the Service read manifests and configs from the
// registry's storage, for an index's platforms, an image's build
// history and a chart's files (without it those answer ErrNoRegistry).
func WithContent(d storage.Driver) Option { return func(s *Service) { s.content = d } }

// WithImmutable lets listings mark immutable tags, with immutable (the
// immutability service's Immutable).
func WithImmutable(immutable func(ctx context.Context, repo, tag string) (bool, error)) Option {
	return func(s *Service) { s.immutable = immutable }
}

// New returns the Service over store (the store the registry writes
// through, with its policies), deciding rights with authz and seeing
// projects through projects.
func New(store meta.Store, authz auth.Authorizer, projects Projects, opts ...Option) (*Service, error) {
	s := &Service{store: store, authz: authz, projects: projects}
	for _, o := range opts {
		o(s)
	}
	switch {
	case store == nil:
		return nil, errors.New("artifact: New: nil store")
	case authz == nil:
		return nil, errors.New("artifact: New: nil authorizer")
	case projects == nil:
		return nil, errors.New("artifact: New: nil projects")
	}
	return s, nil
}

// notFoundError is an error that matches meta.ErrNotFound.
type notFoundError string

func (e notFoundError) Error() string { return string(e) }

// Is makes the error match meta.ErrNotFound.
func (e notFoundError) Is(target error) bool { return target == meta.ErrNotFound }

// window returns items[offset:offset+limit] within bounds (limit 0: to
// the end).
func window[T any](items []T, offset, limit int) []T {
	start := min(offset, len(items))
	end := len(items)
	if limit > 0 {
		end = min(start+limit, end)
	}
	return items[start:end]
}
