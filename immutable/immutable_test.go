package immutable_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/generation"
	"github.com/berthreg/berth/immutable"
	"github.com/berthreg/berth/internal/teststores"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/registry"
	"github.com/berthreg/berth/registry/naming"
)

func manifest(name string) meta.Manifest {
	return meta.Manifest{Digest: digest.FromString(name), MediaType: "application/vnd.oci.image.manifest.v1+json", Size: 10}
}

// tag puts manifest m into repo under tag, through s.
func tag(ctx context.Context, s meta.Store, repo, t string, m meta.Manifest) error {
	return s.Update(ctx, func(tx meta.Tx) error {
		if _, _, err := tx.Repositories().Ensure(repo); err != nil {
			return err
		}
		if err := tx.Manifests().Put(repo, m); err != nil {
			return err
		}
		return tx.Tags().Put(repo, t, m.Digest)
	})
}

func project(t *testing.T, s meta.Store, name string) {
	t.Helper()
	if err := s.Update(t.Context(), func(tx meta.Tx) error {
		return accounts.Projects.In(tx).Put(accounts.Project{Name: name})
	}); err != nil {
		t.Fatal(err)
	}
}

func rule(repos, repoDecoration, tags, tagDecoration string) immutable.Rule {
	return immutable.Rule{Repositories: immutable.Selector{Decoration: repoDecoration, Pattern: repos},
		Tags: immutable.Selector{Decoration: tagDecoration, Pattern: tags}}
}

func wantImmutable(t *testing.T, what string, err error) {
	t.Helper()
	var ie *immutable.ImmutableError
	var re *registry.Error
	if !errors.As(err, &ie) || !errors.Is(err, immutable.ErrImmutable) || !errors.As(err, &re) ||
		re.Status != http.StatusPreconditionFailed || re.Code != registry.CodeDenied {
		t.Fatalf("%s: %v, want an *ImmutableError (412 DENIED)", what, err)
	}
}

func TestImmutableTags(t *testing.T) {
	teststores.Each(t, func(t *testing.T, open teststores.Opener) {
		raw := open(t)
		svc, err := immutable.New(raw)
		if err != nil {
			t.Fatal(err)
		}
		s, ctx := svc.Store(), t.Context()
		project(t, raw, "team")
		// Release tags of every repository but scratch/**, and nothing else.
		if _, err := svc.Create(ctx, "team", rule("scratch/**", immutable.Excludes, "v*", immutable.Matches)); err != nil {
			t.Fatal(err)
		}
		v1, v2 := manifest("v1"), manifest("v2")
		if err := tag(ctx, s, "team/app", "v1", v1); err != nil {
			t.Fatalf("creating an immutable tag: %v", err)
		}
		if err := tag(ctx, s, "team/app", "v1", v1); err != nil {
			t.Fatalf("pushing an immutable tag again on its manifest: %v", err)
		}
		wantImmutable(t, "moving v1", tag(ctx, s, "team/app", "v1", v2))
		wantImmutable(t, "deleting v1", s.Update(ctx, func(tx meta.Tx) error { return tx.Tags().Delete("team/app", "v1") }))
		wantImmutable(t, "deleting v1's manifest", s.Update(ctx, func(tx meta.Tx) error { return tx.Manifests().Delete("team/app", v1.Digest) }))
		wantImmutable(t, "deleting v1's repository", s.Update(ctx, func(tx meta.Tx) error { return tx.Repositories().Delete("team/app") }))
		if err := tag(ctx, s, "team/scratch/y", "v1", v1); err != nil {
			t.Fatal(err)
		}
		if err := s.Update(ctx, func(tx meta.Tx) error { return tx.Repositories().Delete("team/scratch/y") }); err != nil {
			t.Fatalf("deleting a repository without immutable tags: %v", err)
		}
		// Nothing moved.
		if err := raw.View(ctx, func(tx meta.Tx) error {
			d, err := tx.Tags().Get("team/app", "v1")
			if err == nil && d != v1.Digest {
				t.Errorf("v1 points at %s", d)
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		// A missing tag is still not found.
		if err := s.Update(ctx, func(tx meta.Tx) error { return tx.Tags().Delete("team/app", "v9") }); !errors.Is(err, meta.ErrNotFound) {
			t.Fatalf("deleting a missing immutable tag: %v", err)
		}
		// Tags the rule does not select move and go.
		for _, c := range []struct{ repo, tag string }{{"team/app", "latest"}, {"team/scratch/x", "v1"}, {"other/app", "v1"}} {
			if err := tag(ctx, s, c.repo, c.tag, v1); err != nil {
				t.Fatal(err)
			}
			if err := tag(ctx, s, c.repo, c.tag, v2); err != nil {
				t.Fatalf("moving %s:%s: %v", c.repo, c.tag, err)
			}
			if err := s.Update(ctx, func(tx meta.Tx) error { return tx.Tags().Delete(c.repo, c.tag) }); err != nil {
				t.Fatalf("deleting %s:%s: %v", c.repo, c.tag, err)
			}
		}
		// cosign's tags are never immutable, even under a rule for every tag.
		if _, err := svc.Create(ctx, "team", rule("**", immutable.Matches, "**", immutable.Matches)); err != nil {
			t.Fatal(err)
		}
		for _, att := range naming.AttachmentTags(v1.Digest) {
			sig1, sig2 := manifest(att+"1"), manifest(att+"2")
			if err := tag(ctx, s, "team/app", att, sig1); err != nil {
				t.Fatal(err)
			}
			if err := tag(ctx, s, "team/app", att, sig2); err != nil {
				t.Fatalf("re-signing (%s): %v", att, err)
			}
		}
		if err := tag(ctx, s, "team/app", "latest", v1); err != nil {
			t.Fatal(err)
		}
		wantImmutable(t, "moving latest under **", tag(ctx, s, "team/app", "latest", v2))
		// A disabled rule selects nothing; deleting rules lifts them.
		rules, err := svc.Rules(ctx, "team")
		if err != nil || len(rules) != 2 || rules[0].ID != 1 || rules[1].ID != 2 {
			t.Fatalf("rules %+v, %v", rules, err)
		}
		r := rules[1]
		r.Disabled = true
		if _, err := svc.Update(ctx, "team", r); err != nil {
			t.Fatal(err)
		}
		if err := tag(ctx, s, "team/app", "latest", v2); err != nil {
			t.Fatalf("moving latest under a disabled rule: %v", err)
		}
		if err := svc.Delete(ctx, "team", 1); err != nil {
			t.Fatal(err)
		}
		if err := tag(ctx, s, "team/app", "v1", v2); err != nil {
			t.Fatalf("moving v1 once its rule is gone: %v", err)
		}
		if ok, err := svc.Immutable(ctx, "team/app", "v1"); err != nil || ok {
			t.Fatalf("Immutable after the rules went: %v, %v", ok, err)
		}
	})
}

func TestRuleChecks(t *testing.T) {
	raw := teststores.Open(t)
	svc, err := immutable.New(raw)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	project(t, raw, "team")
	for _, c := range []struct {
		r     immutable.Rule
		field string
	}{
		{rule("**", "repoMatches", "v*", immutable.Matches), "repositories.decoration"},
		{rule("**", immutable.Matches, "", immutable.Matches), "tags.pattern"},
		{rule("[", immutable.Matches, "v*", immutable.Matches), "repositories.pattern"},
		{rule("**", immutable.Matches, "{a", immutable.Matches), "tags.pattern"},
	} {
		if _, err := svc.Create(ctx, "team", c.r); !errors.Is(err, immutable.ErrInvalid) || !strings.Contains(err.Error(), c.field) {
			t.Errorf("rule %+v: %v, want ErrInvalid naming %s", c.r, err, c.field)
		}
	}
	for range immutable.MaxRules {
		if _, err := svc.Create(ctx, "team", rule("**", immutable.Matches, "v*", immutable.Matches)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.Create(ctx, "team", rule("**", immutable.Matches, "v*", immutable.Matches)); !errors.Is(err, immutable.ErrInvalid) {
		t.Fatalf("rule %d: %v, want ErrInvalid", immutable.MaxRules+1, err)
	}
	if _, err := svc.Create(ctx, "nope", rule("**", immutable.Matches, "v*", immutable.Matches)); !errors.Is(err, immutable.ErrNotFound) {
		t.Fatalf("rule of a missing project: %v", err)
	}
	if err := svc.Delete(ctx, "team", 99); !errors.Is(err, immutable.ErrNotFound) {
		t.Fatalf("deleting a missing rule: %v", err)
	}
	// The project's deletion takes its rules.
	if err := raw.Update(ctx, func(tx meta.Tx) error { return svc.DeleteProject(tx, "team", time.Time{}) }); err != nil {
		t.Fatal(err)
	}
	if rules, err := svc.Rules(ctx, "team"); err != nil || len(rules) != 0 {
		t.Fatalf("rules after the project's cleanup: %+v, %v", rules, err)
	}
}

// Two instances on one store: a rule made on one holds on the other once
// its watcher has polled, and cached rules are forgotten on a change.
func TestRulesReachOtherInstances(t *testing.T) {
	teststores.Each(t, func(t *testing.T, open teststores.Opener) {
		raw := open(t)
		ctx := t.Context()
		project(t, raw, "team")
		a, err := immutable.New(raw)
		if err != nil {
			t.Fatal(err)
		}
		w, err := generation.NewWatcher(raw, generation.WithTicks(make(chan time.Time)))
		if err != nil {
			t.Fatal(err)
		}
		b, err := immutable.New(raw, immutable.WithWatcher(w))
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Poll(ctx); err != nil {
			t.Fatal(err)
		}
		v1, v2 := manifest("v1"), manifest("v2")
		// b caches team's rules (none) on this push.
		if err := tag(ctx, b.Store(), "team/app", "v1", v1); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Create(ctx, "team", rule("**", immutable.Matches, "v*", immutable.Matches)); err != nil {
			t.Fatal(err)
		}
		// Until b polls, its cache may still allow the move; after, never.
		if err := w.Poll(ctx); err != nil {
			t.Fatal(err)
		}
		wantImmutable(t, "moving v1 on the other instance", tag(ctx, b.Store(), "team/app", "v1", v2))
	})
}
