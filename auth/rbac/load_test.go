package rbac

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/berthreg/berth/auth"
)

// TestLoadSwapsWholePolicies: while Load's fill is half-way (bob added,
// carol not yet), decisions still see the old policy whole (alice a
// developer, bob nothing); once it returns, they see the new one whole
// (alice gone, bob and carol in); the role matrix stays.
func TestLoadSwapsWholePolicies(t *testing.T) {
	a := newAuthorizer(t)
	if err := a.AddMember("team", Subject(auth.User, "alice"), Developer); err != nil {
		t.Fatal(err)
	}
	halfway, finish := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- a.Load(func(staged *Authorizer) error {
			if err := staged.AddMember("team", Subject(auth.User, "bob"), Maintainer); err != nil {
				return err
			}
			close(halfway)
			<-finish
			return staged.AddGrant("team", Subject(auth.User, "carol"), "team/app", auth.ActionPull)
		})
	}()
	<-halfway
	if got := allowed(t, a, user("alice"), "team/app"); !slices.Equal(got, []string{"pull", "push"}) {
		t.Errorf("during the load, alice may %v; want the old policy's pull, push", got)
	}
	if got := allowed(t, a, user("bob"), "team/app"); len(got) != 0 {
		t.Errorf("during the load, bob may %v; want nothing of the half-loaded policy", got)
	}
	close(finish)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string][]string{"alice": nil, "bob": all, "carol": {"pull"}} {
		if got := allowed(t, a, user(p), "team/app"); !slices.Equal(got, want) {
			t.Errorf("after the load, %s may %v; want %v", p, got, want)
		}
	}
}

// TestLoadFailureKeepsThePolicy: a fill that fails leaves the policy as
// it was.
func TestLoadFailureKeepsThePolicy(t *testing.T) {
	a := newAuthorizer(t)
	if err := a.AddMember("team", Subject(auth.User, "alice"), Guest); err != nil {
		t.Fatal(err)
	}
	broken := errors.New("store unreachable")
	if err := a.Load(func(*Authorizer) error { return broken }); !errors.Is(err, broken) {
		t.Fatalf("Load: %v", err)
	}
	if got := allowed(t, a, user("alice"), "team/app"); !slices.Equal(got, []string{"pull"}) {
		t.Errorf("after a failed load, alice may %v; want pull", got)
	}
}

// TestLoadReadsAgainAfterAChange: a change applied while fill runs may
// have reached the source after fill read it: Load reads again, so the
// change is neither lost (as swapping the first read in would lose it)
// nor applied to an enforcer that is then thrown away.
func TestLoadReadsAgainAfterAChange(t *testing.T) {
	a := newAuthorizer(t)
	var (
		mu     sync.Mutex
		source = []string{"alice"} // the members as stored
	)
	read, proceed := make(chan struct{}), make(chan struct{})
	fills := 0
	done := make(chan error, 1)
	go func() {
		done <- a.Load(func(staged *Authorizer) error {
			mu.Lock()
			members := slices.Clone(source)
			mu.Unlock()
			if fills++; fills == 1 {
				close(read)
				<-proceed
			}
			for _, m := range members {
				if err := staged.AddMember("team", Subject(auth.User, m), Developer); err != nil {
					return err
				}
			}
			return nil
		})
	}()
	<-read
	// A writer commits bob, then applies him here, while the load holds
	// a read from before.
	mu.Lock()
	source = append(source, "bob")
	mu.Unlock()
	if err := a.AddMember("team", Subject(auth.User, "bob"), Developer); err != nil {
		t.Fatal(err)
	}
	close(proceed)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if fills != 2 {
		t.Errorf("fill ran %d times, want 2", fills)
	}
	if got := allowed(t, a, user("bob"), "team/app"); !slices.Equal(got, []string{"pull", "push"}) {
		t.Errorf("after the load, bob may %v; want pull, push", got)
	}
}

// TestLoadReplacesARoleGivenTwice: a fill that gives one subject two
// roles in a project leaves the second only, as AddMember does outside
// a Load.
func TestLoadReplacesARoleGivenTwice(t *testing.T) {
	a := newAuthorizer(t)
	err := a.Load(func(staged *Authorizer) error {
		if err := staged.AddMember("team", Subject(auth.User, "bob"), Maintainer); err != nil {
			return err
		}
		if err := staged.AddMember("other", Subject(auth.User, "bob"), Maintainer); err != nil {
			return err
		}
		return staged.AddMember("team", Subject(auth.User, "bob"), Guest)
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := allowed(t, a, user("bob"), "team/app"); !slices.Equal(got, []string{"pull"}) {
		t.Errorf("bob, made maintainer then guest of team, may %v; want pull", got)
	}
	if got := allowed(t, a, user("bob"), "other/app"); !slices.Equal(got, all) {
		t.Errorf("bob, maintainer of other, may %v; want %v", got, all)
	}
}

// BenchmarkLoad loads 10 000 projects with a member each (a server's
// start, and every instance's reload after a change made elsewhere): a
// Load costs in proportion to the members (it rebuilt every role link
// for each member before, 12 s here for 10 000).
func BenchmarkLoad(b *testing.B) {
	a, err := New(projectMap{})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		err := a.Load(func(staged *Authorizer) error {
			for i := range 10000 {
				if err := staged.AddMember(fmt.Sprintf("p%d", i), Subject(auth.User, fmt.Sprintf("u%d", i%100)), Developer); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
