package dragonfly_test

import (
	"errors"
	"testing"

	"github.com/berthreg/berth/preheat"
	"github.com/berthreg/berth/preheat/dragonfly"
)

// TestEndpointValidation: New takes http and https URLs with a host and
// the credentials their auth mode needs, and refuses the rest with
// preheat.ErrBadEndpoint.
func TestEndpointValidation(t *testing.T) {
	token := map[string]string{"token": "t"}
	good := []preheat.Endpoint{
		{URL: "http://127.0.0.1:8080", AuthMode: preheat.AuthOAuth, AuthInfo: token},
		{URL: "https://dragonfly.example/", AuthMode: preheat.AuthOAuth, AuthInfo: token},
		{URL: "https://dragonfly.example/manager/", AuthMode: preheat.AuthOAuth, AuthInfo: token},
		{URL: "http://[::1]:8080", AuthMode: preheat.AuthOAuth, AuthInfo: token},
		{URL: "http://dragonfly.example"},
		{URL: "http://dragonfly.example", AuthMode: preheat.AuthNone},
		{URL: "http://dragonfly.example", AuthMode: preheat.AuthBasic, AuthInfo: map[string]string{"username": "u", "password": "p"}},
	}
	for _, e := range good {
		if _, err := dragonfly.New(e); err != nil {
			t.Errorf("New(%+v): %v", e, err)
		}
	}
	bad := []preheat.Endpoint{
		{URL: ""},
		{URL: "dragonfly.example:8080"},
		{URL: "/oapi/v1"},
		{URL: "ftp://dragonfly.example"},
		{URL: "unix:///run/manager.sock"},
		{URL: "http://"},
		{URL: "http:dragonfly.example"},
		{URL: "http://dragonfly.example/?x=1"},
		{URL: "http://dragonfly.example/?"},
		{URL: "http://dragonfly.example/#f"},
		{URL: "http://user:secret@dragonfly.example"},
		{URL: "http://dragon fly.example"},
		{URL: "http://dragonfly.example:port"},
		{URL: "http://dragonfly.example", AuthMode: preheat.AuthOAuth},
		{URL: "http://dragonfly.example", AuthMode: preheat.AuthOAuth, AuthInfo: map[string]string{"token": ""}},
		{URL: "http://dragonfly.example", AuthMode: preheat.AuthOAuth, AuthInfo: map[string]string{"password": "p"}},
		{URL: "http://dragonfly.example", AuthMode: preheat.AuthBasic, AuthInfo: map[string]string{"username": "u"}},
		{URL: "http://dragonfly.example", AuthMode: preheat.AuthBasic},
		{URL: "http://dragonfly.example", AuthMode: "oauth", AuthInfo: token},
		{URL: "http://dragonfly.example", AuthMode: "KERBEROS"},
	}
	for _, e := range bad {
		if p, err := dragonfly.New(e); !errors.Is(err, preheat.ErrBadEndpoint) {
			t.Errorf("New(%+v) = %v, %v; want ErrBadEndpoint", e, p, err)
		}
	}
}

// TestImagesDragonflyCannotTake: an image without an http or https
// manifest URL, or with a scope Dragonfly has no match for, ends in a
// failed job without an id and without a request (the endpoint is a
// closed port: a request would be an error); a job id that is not a
// manager's is unknown without a request too. The manager itself is
// unreachable: Health and a preheat it would take are errors.
func TestImagesDragonflyCannotTake(t *testing.T) {
	p, err := dragonfly.New(preheat.Endpoint{URL: "http://" + closedPort(t), AuthMode: preheat.AuthOAuth,
		AuthInfo: map[string]string{"token": "t"}, Client: loopbackClient()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	manifest := "https://registry.example/v2/library/app/manifests/v1"
	for _, img := range []preheat.Image{
		{Repository: "library/app", URL: ""},
		{Repository: "library/app", URL: "registry.example/v2/library/app/manifests/v1"},
		{Repository: "library/app", URL: "ftp://registry.example/v2/library/app/manifests/v1"},
		{Repository: "library/app", URL: "https:///v2/library/app/manifests/v1"},
		{Repository: "library/app", URL: manifest, Scope: "all_seed_peers"},
		{Repository: "library/app", URL: manifest, Scope: "everywhere"},
	} {
		job, err := p.Preheat(ctx, img)
		if err != nil || job.Status != preheat.StatusFailed || job.Message == "" || job.ID != "" {
			t.Errorf("Preheat(%+v) = %+v, %v; want a failed job without an id, saying why", img, job, err)
		}
	}
	for _, id := range []string{"", "0", "abc", "1.5", "+1", " 1"} {
		if _, err := p.Job(ctx, id); !errors.Is(err, dragonfly.ErrUnknownJob) {
			t.Errorf("Job(%q): %v; want ErrUnknownJob", id, err)
		}
	}
	if err := p.Health(ctx); err == nil {
		t.Error("Health of a closed port: nil")
	}
	if job, err := p.Preheat(ctx, preheat.Image{URL: manifest, Scope: preheat.ScopeAllPeers}); err == nil {
		t.Errorf("Preheat to a closed port = %+v, nil error", job)
	}
	if _, err := p.Job(ctx, "1"); err == nil || errors.Is(err, dragonfly.ErrUnknownJob) {
		t.Errorf("Job at a closed port: %v; want a connection error", err)
	}
}
