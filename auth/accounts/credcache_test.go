package accounts

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/meta"
)

// countCompares makes m count its bcrypt comparisons.
func countCompares(m *Manager) *atomic.Int64 {
	var n atomic.Int64
	m.compare = func(hash, secret []byte) error {
		n.Add(1)
		return bcrypt.CompareHashAndPassword(hash, secret)
	}
	return &n
}

// TestCredentialCache: repeating a verified name and secret costs no
// bcrypt comparison until the entry expires; another secret is checked
// (and refused).
func TestCredentialCache(t *testing.T) {
	m, _, now := clockedManager(t)
	ctx := t.Context()
	if err := m.SetUser(ctx, "jo", "jo-password", false); err != nil {
		t.Fatal(err)
	}
	compares := countCompares(m)
	for i := range 10 {
		if _, err := m.Authenticate(ctx, "jo", "jo-password"); err != nil {
			t.Fatalf("login %d: %v", i, err)
		}
	}
	if n := compares.Load(); n != 1 {
		t.Errorf("10 logins with the same password cost %d bcrypt comparisons, want 1", n)
	}
	if _, err := m.Authenticate(ctx, "jo", "jo-password-but-not"); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("another password: %v", err)
	}
	if _, err := m.Authenticate(ctx, "JO", "jo-password"); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("another spelling of the name: %v", err)
	}
	compares.Store(0)
	*now = now.Add(time.Minute)
	if _, err := m.Authenticate(ctx, "jo", "jo-password"); err != nil || compares.Load() != 1 {
		t.Errorf("after the entry's lifetime: %v, %d comparisons; want a fresh check", err, compares.Load())
	}

	s, _ := openStore(t)
	defer s.Close()
	off, err := New(ctx, s, WithHashCost(bcrypt.MinCost), WithCredentialCache(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if err := off.SetUser(ctx, "jo", "jo-password", false); err != nil {
		t.Fatal(err)
	}
	compares = countCompares(off)
	for range 3 {
		if _, err := off.Authenticate(ctx, "jo", "jo-password"); err != nil {
			t.Fatal(err)
		}
	}
	if n := compares.Load(); n != 3 {
		t.Errorf("without the cache, 3 logins cost %d comparisons", n)
	}
}

// TestCredentialCacheBounded: the cache holds at most its size.
func TestCredentialCacheBounded(t *testing.T) {
	c := newCredCache()
	c.size = 3
	now := time.Now()
	for i := range 10 {
		c.put(c.id("jo", string(rune('a'+i))), credEntry{expires: now.Add(time.Minute)}, now)
	}
	if n := len(c.entries); n > 3 {
		t.Errorf("%d entries in a cache of 3", n)
	}
}

// TestCredentialCacheInvalidation: a cached verification stops working at
// once when the password or secret changes, or the account is disabled or
// deleted, also when the store is changed behind the Manager's back.
func TestCredentialCacheInvalidation(t *testing.T) {
	m, s, _ := clockedManager(t)
	ctx := t.Context()
	admin := auth.Principal{Name: "admin", Kind: auth.User, Admin: true}
	if err := m.CreateProject(ctx, admin, "team", false); err != nil {
		t.Fatal(err)
	}
	robot := func() (string, string) {
		t.Helper()
		name, secret, err := m.CreateRobot(ctx, admin, RobotSpec{Project: "team", Name: "ci",
			Grants: []Grant{{Project: "team", Pattern: "team/**", Actions: []string{"pull"}}}})
		if err != nil {
			t.Fatal(err)
		}
		return name, secret
	}
	user := func(name string) {
		t.Helper()
		if err := m.SetUser(ctx, name, name+"-password", false); err != nil {
			t.Fatal(err)
		}
	}
	cached := func(name, secret string) {
		t.Helper()
		for range 2 {
			if _, err := m.Authenticate(ctx, name, secret); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
	}
	refused := func(what, name, secret string) {
		t.Helper()
		if p, err := m.Authenticate(ctx, name, secret); !errors.Is(err, auth.ErrBadCredentials) {
			t.Errorf("%s: %+v, %v; want bad credentials", what, p, err)
		}
	}

	user("pat")
	cached("pat", "pat-password")
	if err := m.SetUser(ctx, "pat", "pat-new-password", false); err != nil {
		t.Fatal(err)
	}
	refused("the old password after a change", "pat", "pat-password")

	user("dee")
	cached("dee", "dee-password")
	if err := m.SetUserDisabled(ctx, "dee", true); err != nil {
		t.Fatal(err)
	}
	refused("a disabled user", "dee", "dee-password")

	user("del")
	cached("del", "del-password")
	if err := m.DeleteUser(ctx, "del"); err != nil {
		t.Fatal(err)
	}
	refused("a deleted user", "del", "del-password")
	if err := m.SetUser(ctx, "del", "another-password", false); err != nil {
		t.Fatal(err)
	}
	refused("a deleted user's password, on the account made again", "del", "del-password")

	// The store changed by another process (or a host) without the Manager.
	user("ext")
	cached("ext", "ext-password")
	if err := s.Update(ctx, func(tx meta.Tx) error {
		u, err := Users.In(tx).Get("ext")
		if err != nil {
			return err
		}
		u.Disabled = true
		return Users.In(tx).Put(u)
	}); err != nil {
		t.Fatal(err)
	}
	refused("a user disabled in the store directly", "ext", "ext-password")

	root := auth.Principal{Name: "root", Kind: auth.User, Admin: true}
	name, secret := robot()
	cached(name, secret)
	if _, err := m.RotateRobotSecret(ctx, root, name); err != nil {
		t.Fatal(err)
	}
	refused("a robot's rotated secret", name, secret)
	if err := m.DeleteRobot(ctx, root, name); err != nil {
		t.Fatal(err)
	}

	name, secret = robot()
	cached(name, secret)
	if err := m.SetRobotDisabled(ctx, root, name, true); err != nil {
		t.Fatal(err)
	}
	refused("a disabled robot", name, secret)
	if err := m.DeleteRobot(ctx, root, name); err != nil {
		t.Fatal(err)
	}
	refused("a deleted robot", name, secret)
}

// TestCredentialCacheDirectory: a directory's verification is cached too
// (for its lifetime), but not once the name belongs to a local account
// or its directory account is disabled.
func TestCredentialCacheDirectory(t *testing.T) {
	s, _ := openStore(t)
	defer s.Close()
	dir := &fakeDirectory{}
	m, err := New(t.Context(), s, WithHashCost(bcrypt.MinCost), WithDirectory(dir))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for range 5 {
		p, err := m.Authenticate(ctx, "bob", "directory-password")
		if err != nil || p.Name != "bob" || p.Source != SourceLDAP {
			t.Fatalf("directory bob: %+v, %v", p, err)
		}
		if err := m.RememberUser(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	if n := dir.calls.Load(); n != 1 {
		t.Errorf("5 logins asked the directory %d times, want 1", n)
	}
	if err := m.SetUserDisabled(ctx, "bob", true); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Authenticate(ctx, "bob", "directory-password"); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("a disabled directory account: %v", err)
	}
	if _, err := m.Authenticate(ctx, "eve", "directory-password"); err != nil {
		t.Fatal(err)
	}
	// The directory's eve is recorded; an administrator deletes the record
	// and makes eve a local account.
	if err := m.DeleteUser(ctx, "eve"); err != nil {
		t.Fatal(err)
	}
	if err := m.SetUser(ctx, "eve", "eve-local-password", true); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Authenticate(ctx, "eve", "directory-password"); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("the directory's eve once eve is a local account: %v", err)
	}
}
