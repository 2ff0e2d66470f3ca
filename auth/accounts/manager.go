package accounts

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/rbac"
	"github.com/berthreg/berth/events"
	"github.com/berthreg/berth/generation"
	"github.com/berthreg/berth/meta"
)

// Errors of the Manager's operations (wrapped with details).
var (
	// ErrExists reports a name already taken.
	ErrExists = errors.New("accounts: already exists")
	// ErrInvalid reports a bad argument: a name, a role, a grant.
	ErrInvalid = errors.New("accounts: invalid")
	// ErrForbidden reports an operation the acting principal may not do.
	ErrForbidden = errors.New("accounts: forbidden")
	// ErrNotEmpty reports a project that still holds repositories.
	ErrNotEmpty = errors.New("accounts: project not empty")
)

// Manager keeps accounts and projects in a meta.Store and the policy of an
// rbac.Authorizer in step with them. Create it with New.
type Manager struct {
	store meta.Store
	authz *rbac.Authorizer
	now   func() time.Time
	cost  int
	dummy []byte // a hash to compare against for unknown accounts
	dir   auth.Authenticator
	// compare checks a secret against its bcrypt hash (a seam for tests).
	compare func(hash, secret []byte) error
	creds   *credCache
	// failed is RecordLogin's budget of failed-login events (record.go).
	failed failedLogins
	// cleanups run in DeleteProject's transaction.
	cleanups []ProjectCleanup
	// watcher, when set, reloads the policy when another instance
	// changed it (WithWatcher).
	watcher *generation.Watcher
	// policyAt is the policy generation the Authorizer holds, when
	// policyKnown: set by Reload, and advanced by a change this process
	// made and applied itself (appliedLocally), so that the watcher's
	// poll after it does not reload the whole policy.
	policyMu    sync.Mutex
	policyAt    uint64
	policyKnown bool
	// loads counts the whole-policy reads (for tests).
	loads atomic.Int64
}

var (
	_ auth.Authenticator = (*Manager)(nil)
	_ rbac.ProjectLookup = (*Manager)(nil)
)

// Option tunes a Manager made by New.
type Option func(*Manager)

// WithHashCost sets the bcrypt cost of the passwords and secrets the
// Manager hashes from now on (default bcrypt.DefaultCost; clamped to
// bcrypt's range). Hashes already stored keep the cost they were made
// with. Tests use bcrypt.MinCost: every hash then costs well under a
// millisecond instead of tens.
func WithHashCost(cost int) Option {
	return func(m *Manager) { m.cost = min(max(cost, bcrypt.MinCost), bcrypt.MaxCost) }
}

// ProjectCleanup deletes what a feature keeps of project, in the
// transaction that deletes the project, at now. An error aborts the
// deletion.
type ProjectCleanup func(tx meta.Tx, project string, now time.Time) error

// WithProjectCleanup adds fns to the cleanups DeleteProject runs in its
// transaction, so that nothing a feature kept of a project outlives it
// (webhook.DeleteProjectPolicies, for one): a project re-created under the
// name starts with nothing.
func WithProjectCleanup(fns ...ProjectCleanup) Option {
	return func(m *Manager) { m.cleanups = append(m.cleanups, fns...) }
}

// PolicyGeneration is the generation counter (package generation) every
// change of the policy bumps in its transaction: members, grants, robots,
// and the deletion of projects and users.
const PolicyGeneration = "accounts.policy"

// WithWatcher keeps the policy in step with the changes other instances
// sharing the store make: w calls Reload whenever PolicyGeneration
// moves (within w's interval, while w runs). Everything else the Manager
// answers (accounts, secrets, sessions, projects) it reads from the
// store on every call, so only the policy needs it.
func WithWatcher(w *generation.Watcher) Option {
	return func(m *Manager) { m.watcher = w }
}

// New returns a Manager over store with its own rbac.Authorizer, whose
// policy it loads from the store.
func New(ctx context.Context, store meta.Store, opts ...Option) (*Manager, error) {
	m := &Manager{store: store, now: time.Now, cost: bcrypt.DefaultCost, compare: bcrypt.CompareHashAndPassword, creds: newCredCache()}
	for _, o := range opts {
		o(m)
	}
	a, err := rbac.New(m)
	if err != nil {
		return nil, err
	}
	m.authz = a
	if m.dummy, err = bcrypt.GenerateFromPassword([]byte("no such account"), m.cost); err != nil {
		return nil, err
	}
	if err := m.Reload(ctx); err != nil {
		return nil, err
	}
	if m.watcher != nil {
		if err := m.watcher.Watch(PolicyGeneration, m.Reload); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Authorizer returns the policy the Manager keeps in step.
func (m *Manager) Authorizer() *rbac.Authorizer { return m.authz }

// Reload replaces the policy with the one the store holds (the members
// and grants of every project, the robots' grants), at once (see
// rbac.Authorizer.Load): what New does, and what WithWatcher's watcher
// calls when another instance changed the policy.
func (m *Manager) Reload(ctx context.Context) error {
	var now uint64
	if err := m.store.View(ctx, func(tx meta.Tx) error {
		var err error
		now, err = generation.Value(tx, PolicyGeneration)
		return err
	}); err != nil {
		return err
	}
	m.policyMu.Lock()
	current := m.policyAt == now && m.policyKnown
	m.policyMu.Unlock()
	if current {
		return nil // this process made and applied the last change itself
	}
	var filled uint64
	m.loads.Add(1)
	err := m.authz.Load(func(staged *rbac.Authorizer) error {
		var err error
		filled, err = m.fill(ctx, staged)
		return err
	})
	if err == nil {
		m.policyMu.Lock()
		m.policyAt, m.policyKnown = filled, true
		m.policyMu.Unlock()
	}
	return err
}

// appliedLocally records that this process applied to its policy the
// change it committed, which moved the policy generation to at: when
// the policy was at the generation before, it is now at at, and the
// watcher's next Reload need not read the whole policy again. (A change
// made elsewhere in between leaves it unknown until a Reload.)
func (m *Manager) appliedLocally(at uint64) {
	m.policyMu.Lock()
	defer m.policyMu.Unlock()
	if m.policyKnown && m.policyAt+1 == at {
		m.policyAt = at
	}
}

// fill applies every member and robot grant in the store to a, and
// returns the policy generation it read them at.
func (m *Manager) fill(ctx context.Context, a *rbac.Authorizer) (uint64, error) {
	var at uint64
	err := m.store.View(ctx, func(tx meta.Tx) error {
		var err error
		if at, err = generation.Value(tx, PolicyGeneration); err != nil {
			return err
		}
		projects, err := Projects.In(tx).List("", 0)
		if err != nil {
			return err
		}
		for _, p := range projects {
			for _, mem := range p.Members {
				if err := a.AddMember(p.Name, memberSubject(mem), rbac.Role(mem.Role)); err != nil {
					return fmt.Errorf("accounts: project %s: %w", p.Name, err)
				}
			}
			if err := applyMemberGrants(a, p); err != nil {
				return err
			}
		}
		robots, err := Robots.In(tx).List("", 0)
		if err != nil {
			return err
		}
		for _, r := range robots {
			if err := applyGrants(a, r); err != nil {
				return err
			}
		}
		return nil
	})
	return at, err
}

func memberSubject(mem Member) string {
	if mem.Kind == "group" {
		return rbac.GroupSubject(mem.Name)
	}
	return rbac.Subject(auth.User, mem.Name)
}

// applyGrants gives robot r's grants in a.
func applyGrants(a *rbac.Authorizer, r Robot) error {
	sub := rbac.Subject(auth.Robot, r.Name)
	for _, g := range r.Grants {
		var err error
		if g.Resource == "" {
			err = a.AddGrant(g.Project, sub, g.Pattern, g.Actions...)
		}
		for _, act := range g.Actions {
			if err == nil && g.Resource != "" {
				err = a.AddPermission(g.Project, sub, g.Resource, act)
			}
		}
		if err != nil {
			return fmt.Errorf("accounts: robot %s: %w", r.Name, err)
		}
	}
	return nil
}

// newSecret returns a random secret of 32 bytes, base64url.
func newSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Project implements rbac.ProjectLookup.
func (m *Manager) Project(ctx context.Context, name string) (rbac.Project, error) {
	var p Project
	err := m.store.View(ctx, func(tx meta.Tx) error {
		var err error
		p, err = Projects.In(tx).Get(name)
		return err
	})
	if errors.Is(err, meta.ErrNotFound) {
		return rbac.Project{}, fmt.Errorf("%q: %w", name, rbac.ErrNoProject)
	}
	if err != nil {
		return rbac.Project{}, err
	}
	return rbac.Project{Name: p.Name, Public: p.Public}, nil
}

// Authenticate implements auth.Authenticator for robots and user accounts:
// each account is checked by its source only (see WithDirectory); local
// passwords, OIDC CLI secrets and robot secrets here, directory accounts
// and unknown names by the directory when there is one. Every failure is
// auth.ErrBadCredentials, and an unknown name costs a bcrypt comparison
// too, so the answer's time does not say which local names exist. A
// verification is remembered for a while (WithCredentialCache) and
// re-checked against the account on every use.
func (m *Manager) Authenticate(ctx context.Context, name, secret string) (auth.Principal, error) {
	if name == "" || secret == "" {
		return auth.Principal{}, fmt.Errorf("%q: %w", name, auth.ErrBadCredentials)
	}
	if !m.creds.on() {
		p, _, err := m.verify(ctx, name, secret)
		return p, err
	}
	k := m.creds.id(name, secret)
	if e, ok := m.creds.get(k, m.now()); ok {
		p, ok, err := m.cached(ctx, name, e)
		if err != nil || ok {
			return p, err
		}
		m.creds.drop(k)
	}
	p, e, err := m.verify(ctx, name, secret)
	if err == nil {
		now := m.now()
		e.expires = now.Add(m.creds.ttl)
		m.creds.put(k, e, now)
	}
	return p, err
}

// verify checks name and secret without the cache and returns, on
// success, the principal and what the cache keeps of the verification.
func (m *Manager) verify(ctx context.Context, name, secret string) (auth.Principal, credEntry, error) {
	var (
		hash        []byte
		p           auth.Principal
		usable      bool
		toDirectory bool
		lookErr     error
	)
	lookErr = m.store.View(ctx, func(tx meta.Tx) error {
		if IsRobot(name) {
			r, err := Robots.In(tx).Get(name)
			if err != nil {
				return err
			}
			hash, p = r.SecretHash, auth.Principal{Name: r.Name, Kind: auth.Robot}
			usable = m.robotUsable(r)
			return nil
		}
		u, err := Users.In(tx).Get(name)
		switch {
		case err == nil && u.Source != SourceLDAP:
			hash = u.PasswordHash
			if u.Source == SourceOIDC {
				hash = u.CLISecretHash
			}
			p = userPrincipal(u)
			usable = !u.Disabled
			return nil
		case err != nil && !errors.Is(err, meta.ErrNotFound):
			return err
		case m.dir == nil:
			return meta.ErrNotFound // a directory account, or none: nothing here vouches for it
		}
		toDirectory, err = directoryMayCheck(tx, name)
		return err
	})
	if lookErr != nil && !errors.Is(lookErr, meta.ErrNotFound) {
		return auth.Principal{}, credEntry{}, lookErr
	}
	if toDirectory {
		p, err := m.fromDirectory(ctx, name, secret)
		return p, credEntry{directory: p}, err
	}
	if len(hash) == 0 {
		hash, usable = m.dummy, false
	}
	if m.compare(hash, []byte(secret)) != nil || !usable {
		return auth.Principal{}, credEntry{}, fmt.Errorf("%s: %w", name, auth.ErrBadCredentials)
	}
	return p, credEntry{proof: hash}, nil
}

// hash bcrypts a password or secret; bcrypt reads at most 72 bytes.
func (m *Manager) hash(secret string) ([]byte, error) {
	if len(secret) > 72 {
		return nil, fmt.Errorf("%w: secrets longer than 72 bytes are not accepted", ErrInvalid)
	}
	return bcrypt.GenerateFromPassword([]byte(secret), m.cost)
}

// SetUser creates or updates the local user name with password (unchanged
// when "") and the admin flag.
func (m *Manager) SetUser(ctx context.Context, name, password string, admin bool) error {
	return m.putUser(ctx, User{Name: name, Admin: admin}, password, false)
}

// CreateUser creates the local user u (name, email, full name, admin flag)
// with password; ErrExists if the name is taken.
func (m *Manager) CreateUser(ctx context.Context, u User, password string) error {
	if password == "" {
		return fmt.Errorf("%w: a new user needs a password", ErrInvalid)
	}
	return m.putUser(ctx, u, password, true)
}

// putUser validates and writes u with password (unchanged when ""): a new
// local account, or, unless onlyNew, an update of the admin flag and the
// password of an existing one.
func (m *Manager) putUser(ctx context.Context, in User, password string, onlyNew bool) error {
	var h []byte
	if password != "" {
		if len(password) < 8 {
			return fmt.Errorf("%w: password: at least 8 characters", ErrInvalid)
		}
		var err error
		if h, err = m.hash(password); err != nil {
			return err
		}
	}
	now := m.now().UTC()
	return m.store.Update(ctx, func(tx meta.Tx) error {
		u, err := Users.In(tx).Get(in.Name)
		switch {
		case errors.Is(err, meta.ErrNotFound):
			if err := validName(in.Name); err != nil {
				return fmt.Errorf("%w: user %v", ErrInvalid, err)
			}
			if h == nil {
				return fmt.Errorf("%w: a new user needs a password", ErrInvalid)
			}
			if taken, err := nameTaken(tx, in.Name); err != nil || taken {
				if err != nil {
					return err
				}
				return fmt.Errorf("user %s: %w (in another spelling)", in.Name, ErrExists)
			}
			u = User{Name: in.Name, Email: in.Email, FullName: in.FullName, Source: SourceLocal, CreatedAt: now}
			if err := record(ctx, tx, meta.Event{Type: events.CreateUser, Resource: in.Name}); err != nil {
				return err
			}
		case err != nil:
			return err
		case onlyNew:
			return fmt.Errorf("user %s: %w", in.Name, ErrExists)
		}
		if h != nil && u.Source != SourceLocal {
			return fmt.Errorf("%w: %s is a %s account; its password is kept there", ErrInvalid, u.Name, u.Source)
		}
		if h != nil {
			u.PasswordHash = h
			u.Sessions = nil // a new password ends every session
		}
		u.Admin, u.UpdatedAt = in.Admin, now
		return Users.In(tx).Put(u)
	})
}

// SetUserDisabled disables or enables user account name. Disabling ends
// its sessions; a disabled account signs in nowhere.
func (m *Manager) SetUserDisabled(ctx context.Context, name string, disabled bool) error {
	return m.store.Update(ctx, func(tx meta.Tx) error {
		u, err := Users.In(tx).Get(name)
		if err != nil {
			return err
		}
		u.Disabled, u.UpdatedAt = disabled, m.now().UTC()
		if disabled {
			u.Sessions = nil
		}
		return Users.In(tx).Put(u)
	})
}

// CreateProject creates project name with an ID never given before;
// creator (if a user) becomes its ProjectAdmin.
func (m *Manager) CreateProject(ctx context.Context, creator auth.Principal, name string, public bool) error {
	if err := validName(name); err != nil {
		return fmt.Errorf("%w: project %v", ErrInvalid, err)
	}
	now := m.now().UTC()
	p := Project{Name: name, Public: public, CreatedBy: creator.Name, CreatedAt: now, UpdatedAt: now}
	var at uint64 // the policy generation the creation moves to
	if creator.Kind == auth.User {
		p.Members = []Member{{ID: 1, Kind: "user", Name: creator.Name, Role: string(rbac.ProjectAdmin)}}
	}
	err := m.store.Update(ctx, func(tx meta.Tx) error {
		if _, err := Projects.In(tx).Get(name); err == nil {
			return fmt.Errorf("project %s: %w", name, ErrExists)
		}
		// The project's ID is the sequence number of the event recording
		// its creation: never reused, so what belongs to an earlier
		// project of this name (events, policies) is told apart.
		seq, err := tx.Events().Append(meta.Event{Type: events.CreateProject, Time: now, Operator: creator.Name, Project: name,
			Resource: name, Result: "success"})
		if err != nil {
			return err
		}
		p.ID = seq
		if at, err = generation.Advance(tx, PolicyGeneration); err != nil {
			return err
		}
		return Projects.In(tx).Put(p)
	})
	if err != nil {
		return err
	}
	for _, mem := range p.Members {
		if err := m.authz.AddMember(name, memberSubject(mem), rbac.Role(mem.Role)); err != nil {
			return err
		}
	}
	m.appliedLocally(at)
	m.poll(ctx)
	return nil
}

// SetProjectPublic makes a project public or private.
func (m *Manager) SetProjectPublic(ctx context.Context, name string, public bool) error {
	return m.store.Update(ctx, func(tx meta.Tx) error {
		p, err := Projects.In(tx).Get(name)
		if err != nil {
			return err
		}
		p.Public, p.UpdatedAt = public, m.now().UTC()
		return Projects.In(tx).Put(p)
	})
}

// DeleteProject deletes an empty project with its robots and its webhook
// policies (with their delivery logs and pending deliveries). Its events
// stay in the log, for administrators; a project created later under the
// same name has another ID and does not see them as its own.
func (m *Manager) DeleteProject(ctx context.Context, name string) error {
	var robots []string
	err := m.store.Update(ctx, func(tx meta.Tx) error {
		if _, err := Projects.In(tx).Get(name); err != nil {
			return err
		}
		if _, err := tx.Repositories().Get(name); err == nil {
			return fmt.Errorf("project %s: %w", name, ErrNotEmpty)
		}
		next, err := tx.Repositories().List(name+"/", 1)
		if err != nil {
			return err
		}
		if len(next) > 0 && strings.HasPrefix(next[0], name+"/") {
			return fmt.Errorf("project %s: %w (repository %s)", name, ErrNotEmpty, next[0])
		}
		robots = robots[:0]
		all, err := Robots.In(tx).List(RobotPrefix+name+"+", 0)
		if err != nil {
			return err
		}
		for _, r := range all {
			if !strings.HasPrefix(r.Name, RobotPrefix+name+"+") {
				break
			}
			if r.Project != name {
				continue
			}
			robots = append(robots, r.Name)
			if err := Robots.In(tx).Delete(r.Name); err != nil {
				return err
			}
		}
		// What features keep of it (webhook policies with their
		// deliveries, …) goes in the same transaction.
		for _, clean := range m.cleanups {
			if err := clean(tx, name, m.now().UTC()); err != nil {
				return err
			}
		}
		if err := Projects.In(tx).Delete(name); err != nil {
			return err
		}
		if err := generation.Bump(tx, PolicyGeneration); err != nil {
			return err
		}
		return record(ctx, tx, meta.Event{Type: events.DeleteProject, Project: name, Resource: name})
	})
	if err != nil {
		return err
	}
	for _, r := range robots {
		if err := m.authz.RemoveSubject(rbac.Subject(auth.Robot, r)); err != nil {
			return err
		}
	}
	return m.authz.RemoveProject(name)
}

// poll has the watcher, when there is one, poll once a project was
// created here, so that what else this process keeps by project (the
// pull gate's settings of an earlier project of the name, deleted) is
// dropped before the call returns; after a deletion alone the watcher's
// next poll does it. A poll that fails is left to the watcher's next one.
func (m *Manager) poll(ctx context.Context) {
	if m.watcher != nil {
		_ = m.watcher.Poll(ctx)
	}
}

// DeleteUser deletes a user, with its sessions and memberships: an account
// made later with the same name starts without either.
func (m *Manager) DeleteUser(ctx context.Context, name string) error {
	err := m.store.Update(ctx, func(tx meta.Tx) error {
		if err := Users.In(tx).Delete(name); err != nil {
			return err
		}
		if err := generation.Bump(tx, PolicyGeneration); err != nil {
			return err
		}
		if err := record(ctx, tx, meta.Event{Type: events.DeleteUser, Resource: name}); err != nil {
			return err
		}
		all, err := Projects.In(tx).List("", 0)
		if err != nil {
			return err
		}
		for _, p := range all {
			n, g := len(p.Members), len(p.Grants)
			p.Members = slices.DeleteFunc(p.Members, func(x Member) bool { return x.Kind == "user" && x.Name == name })
			p.Grants = slices.DeleteFunc(p.Grants, func(x MemberGrant) bool { return x.Kind == "user" && x.Name == name })
			if len(p.Members) != n || len(p.Grants) != g {
				if err := Projects.In(tx).Put(p); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return m.authz.RemoveSubject(rbac.Subject(auth.User, name))
}

// RoleIn returns the strongest role p holds in project proj, as a user
// member or through one of its groups; "" when none.
func RoleIn(proj Project, p auth.Principal) rbac.Role {
	best := -1
	for _, mem := range proj.Members {
		if (mem.Kind == "user" && p.Kind == auth.User && mem.Name == p.Name) ||
			(mem.Kind == "group" && slices.Contains(p.Groups, mem.Name)) {
			if i := slices.Index(rbac.Roles, rbac.Role(mem.Role)); i >= 0 && (best < 0 || i < best) {
				best = i
			}
		}
	}
	if best < 0 {
		return ""
	}
	return rbac.Roles[best]
}
