package preheat_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/netguard"
	"github.com/berthreg/berth/preheat"
)

// wantField checks err is ErrInvalid, a *FieldError about field.
func wantField(t *testing.T, what string, err error, field string) {
	t.Helper()
	var fe *preheat.FieldError
	if !errors.Is(err, preheat.ErrInvalid) || !errors.As(err, &fe) || fe.Field != field || fe.Reason == "" {
		t.Errorf("%s: %v, want an ErrInvalid FieldError about %q", what, err, field)
	}
}

// wantIs checks errors.Is(err, kind).
func wantIs(t *testing.T, what string, err, kind error) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Errorf("%s: %v, want %v", what, err, kind)
	}
}

// stored reads instance id as the store keeps it (with its secrets).
func (r *rig) stored(id int64) preheat.Instance {
	r.t.Helper()
	var in preheat.Instance
	must(r.t, r.store.View(context.Background(), func(tx meta.Tx) error {
		var err error
		in, err = preheat.Instances.In(tx).Get(preheat.IDKey(id))
		return err
	}))
	return in
}

// TestInstanceValidation: every refused instance names its field in
// Harbor's JSON terms, and none is stored.
func TestInstanceValidation(t *testing.T) {
	r := newRig(t, false)
	ctx := t.Context()
	good := preheat.Instance{Name: "df", Vendor: "fake", Endpoint: "https://df.example", AuthMode: preheat.AuthBasic,
		AuthInfo: map[string]string{"username": "u", "password": "p"}, Enabled: true}
	for _, c := range []struct {
		field string
		edit  func(in *preheat.Instance)
	}{
		{"name", func(in *preheat.Instance) { in.Name = "bad name" }},
		{"name", func(in *preheat.Instance) { in.Name = "" }},
		{"name", func(in *preheat.Instance) { in.Name = "." }},
		{"name", func(in *preheat.Instance) { in.Name = strings.Repeat("n", preheat.MaxNameLength+1) }},
		{"description", func(in *preheat.Instance) { in.Description = strings.Repeat("d", preheat.MaxDescriptionLength+1) }},
		{"vendor", func(in *preheat.Instance) { in.Vendor = "dragonfly" }}, // not registered in the rig
		{"endpoint", func(in *preheat.Instance) { in.Endpoint = "ftp://df.example" }},
		{"endpoint", func(in *preheat.Instance) { in.Endpoint = "df.example" }},
		{"endpoint", func(in *preheat.Instance) { in.Endpoint = "https://user:pw@df.example" }},
		{"endpoint", func(in *preheat.Instance) { in.Endpoint = "https://10.0.0.8:8002" }},
		{"endpoint", func(in *preheat.Instance) { in.Endpoint = "http://localhost:65001" }},
		{"auth_mode", func(in *preheat.Instance) { in.AuthMode = "DIGEST" }},
		{"auth_info.password", func(in *preheat.Instance) { delete(in.AuthInfo, "password") }},
		{"auth_info.username", func(in *preheat.Instance) { in.AuthInfo["username"] = "" }},
		{"auth_info.token", func(in *preheat.Instance) { in.AuthMode = preheat.AuthOAuth; in.AuthInfo = nil }},
		{"auth_info.password", func(in *preheat.Instance) { in.AuthMode = preheat.AuthNone; delete(in.AuthInfo, "username") }},
		{"auth_info.extra", func(in *preheat.Instance) { in.AuthInfo["extra"] = "x" }},
		{"auth_info.password", func(in *preheat.Instance) {
			in.AuthInfo["password"] = strings.Repeat("p", preheat.MaxAuthValueLength+1)
		}},
	} {
		in := good
		in.AuthInfo = map[string]string{"username": "u", "password": "p"}
		c.edit(&in)
		_, err := r.svc.CreateInstance(ctx, admin, in)
		wantField(t, c.field, err, c.field)
	}
	_, err := r.svc.CreateInstance(ctx, admin, preheat.Instance{Name: "x", Vendor: "fake", Endpoint: "https://10.1.2.3"})
	wantIs(t, "internal address", err, netguard.ErrForbiddenAddress)
	list, n, err := r.svc.Instances(ctx, admin, preheat.Page{})
	if err != nil || n != 0 || len(list) != 0 {
		t.Fatalf("after refusals: %v %d %v, want none stored", list, n, err)
	}
}

// TestInstanceCRUD: ids are never reused, secrets are write-only (kept
// when an update leaves them out, demanded again when the endpoint
// changes), names and endpoints are unique, at most one instance is the
// default, and an instance a policy uses is neither deleted nor disabled.
func TestInstanceCRUD(t *testing.T) {
	r := newRig(t, false)
	ctx := t.Context()
	df := r.instance("df")
	if df.ID != 1 || df.Status != preheat.HealthUnknown || df.SetupTimestamp == 0 || df.AuthInfo["password"] != "" ||
		df.AuthInfo["username"] != "harbor" || df.AuthMode != preheat.AuthBasic {
		t.Fatalf("created %+v: want id 1, Unknown, a setup time, the username and no password", df)
	}
	if got := r.stored(df.ID); got.AuthInfo["password"] != "s3cret-df" {
		t.Fatalf("stored %+v, want the password kept", got)
	}
	for what, read := range map[string]func() (preheat.Instance, error){
		"Instance":     func() (preheat.Instance, error) { return r.svc.Instance(ctx, admin, "df") },
		"InstanceByID": func() (preheat.Instance, error) { return r.svc.InstanceByID(ctx, admin, df.ID) },
		"Instances": func() (preheat.Instance, error) {
			l, _, err := r.svc.Instances(ctx, admin, preheat.Page{})
			if len(l) != 1 {
				return preheat.Instance{}, errors.New("not one instance")
			}
			return l[0], err
		},
	} {
		got, err := read()
		if err != nil || got.Name != "df" || got.AuthInfo["password"] != "" || got.AuthInfo["username"] != "harbor" {
			t.Errorf("%s = %+v, %v: want df without its password", what, got, err)
		}
	}
	_, err := r.svc.Instance(ctx, admin, "nope")
	wantIs(t, "missing instance", err, preheat.ErrNotFound)
	wantIs(t, "missing instance", err, meta.ErrNotFound)

	// Names and endpoints are unique.
	_, err = r.svc.CreateInstance(ctx, admin, preheat.Instance{Name: "df", Vendor: "fake", Endpoint: "https://other.example"})
	wantIs(t, "same name", err, preheat.ErrExists)
	_, err = r.svc.CreateInstance(ctx, admin, preheat.Instance{Name: "df2", Vendor: "fake", Endpoint: "https://df.p2p.example/"})
	wantIs(t, "same endpoint", err, preheat.ErrExists)

	// An update that leaves the password out keeps it; one that gives it changes it.
	upd := preheat.Instance{Vendor: "fake", Endpoint: df.Endpoint, AuthMode: preheat.AuthBasic, AuthInfo: map[string]string{"username": "harbor2"},
		Enabled: true, Description: "the Dragonfly cluster"}
	got, err := r.svc.UpdateInstance(ctx, admin, "df", upd)
	if err != nil || got.Description != "the Dragonfly cluster" || got.AuthInfo["password"] != "" {
		t.Fatalf("update without password = %+v, %v", got, err)
	}
	if s := r.stored(df.ID); s.AuthInfo["password"] != "s3cret-df" || s.AuthInfo["username"] != "harbor2" || s.SetupTimestamp != df.SetupTimestamp {
		t.Fatalf("stored after update %+v: want the password kept, the username changed", s)
	}
	// A new endpoint without the password: the secret is not carried there.
	upd.Endpoint = "https://elsewhere.example"
	_, err = r.svc.UpdateInstance(ctx, admin, "df", upd)
	wantField(t, "new endpoint without password", err, "auth_info.password")
	upd.AuthInfo = map[string]string{"username": "harbor2", "password": "new"}
	if _, err = r.svc.UpdateInstance(ctx, admin, "df", upd); err != nil {
		t.Fatal(err)
	}
	if s := r.stored(df.ID); s.AuthInfo["password"] != "new" || s.Endpoint != "https://elsewhere.example" {
		t.Fatalf("stored %+v: want the new password and endpoint", s)
	}
	upd.Vendor = "other"
	_, err = r.svc.UpdateInstance(ctx, admin, "df", upd)
	wantField(t, "vendor change", err, "vendor")
	_, err = r.svc.UpdateInstance(ctx, admin, "nope", upd)
	wantIs(t, "update missing", err, preheat.ErrNotFound)

	// At most one default.
	kr := r.instance("kr")
	for _, name := range []string{"df", "kr"} {
		in, err := r.svc.Instance(ctx, admin, name)
		must(t, err)
		in.Default, in.AuthInfo = true, map[string]string{"username": "u"}
		if _, err := r.svc.UpdateInstance(ctx, admin, name, in); err != nil {
			t.Fatal(err)
		}
	}
	if a, b := r.stored(df.ID), r.stored(kr.ID); a.Default || !b.Default {
		t.Fatalf("defaults: df %v, kr %v; want kr alone", a.Default, b.Default)
	}

	// In use: neither deleted nor disabled.
	p := r.policy(preheat.Policy{Name: "warm", ProviderID: kr.ID})
	wantIs(t, "delete in use", r.svc.DeleteInstance(ctx, admin, "kr"), preheat.ErrInUse)
	in, _ := r.svc.Instance(ctx, admin, "kr")
	in.Enabled = false
	_, err = r.svc.UpdateInstance(ctx, admin, "kr", in)
	wantIs(t, "disable in use", err, preheat.ErrInUse)
	must(t, r.svc.DeletePolicy(ctx, alice, "team", p.Name))
	must(t, r.svc.DeleteInstance(ctx, admin, "kr"))
	_, err = r.svc.InstanceByID(ctx, admin, kr.ID)
	wantIs(t, "deleted", err, preheat.ErrNotFound)
	wantIs(t, "deleted twice", r.svc.DeleteInstance(ctx, admin, "kr"), preheat.ErrNotFound)
	if again := r.instance("kr"); again.ID != kr.ID+1 {
		t.Fatalf("re-created instance id %d, want %d (ids are not reused)", again.ID, kr.ID+1)
	}
	vendors, err := r.svc.Vendors(admin)
	if err != nil || len(vendors) != 1 || vendors[0] != "fake" {
		t.Fatalf("Vendors = %v, %v", vendors, err)
	}
}

// TestInstanceLimit: MaxInstances instances at most.
func TestInstanceLimit(t *testing.T) {
	r := newRig(t, false)
	for i := range preheat.MaxInstances {
		r.instance("i" + strings.Repeat("x", i%3) + string(rune('a'+i%26)) + string(rune('a'+i/26)))
	}
	_, err := r.svc.CreateInstance(t.Context(), admin, preheat.Instance{Name: "one-more", Vendor: "fake", Endpoint: "https://more.example"})
	wantIs(t, "past the limit", err, preheat.ErrLimit)
}

// TestPingThroughGuardAndTLS: providers' requests go through the
// outbound guard (a loopback endpoint is refused unless allowed) and
// verify TLS unless the instance is Insecure; pings record the status,
// and the stored secret is what the provider authenticates with.
func TestPingThroughGuardAndTLS(t *testing.T) {
	var (
		mu      sync.Mutex
		gotAuth []string
	)
	lastAuth := func() string {
		mu.Lock()
		defer mu.Unlock()
		if len(gotAuth) == 0 {
			return ""
		}
		return gotAuth[len(gotAuth)-1]
	}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		u, p, _ := req.BasicAuth()
		mu.Lock()
		gotAuth = append(gotAuth, u+":"+p)
		mu.Unlock()
		if req.URL.Path != "/healthy" {
			http.NotFound(w, req)
		}
	}))
	t.Cleanup(srv.Close)
	ctx := t.Context()

	closed := newRig(t, false)
	_, err := closed.svc.CreateInstance(ctx, admin, preheat.Instance{Name: "local", Vendor: "fake", Endpoint: srv.URL})
	wantField(t, "loopback without an allowance", err, "endpoint")
	wantIs(t, "loopback without an allowance", err, netguard.ErrForbiddenAddress)

	r := newRig(t, false, preheat.WithOutboundGuard(loopbackGuard()))
	in, err := r.svc.CreateInstance(ctx, admin, preheat.Instance{Name: "local", Vendor: "fake", Endpoint: srv.URL, AuthMode: preheat.AuthBasic,
		AuthInfo: map[string]string{"username": "u", "password": "pw"}, Enabled: true})
	must(t, err)
	err = r.svc.PingInstance(ctx, admin, preheat.Instance{ID: in.ID})
	wantIs(t, "ping verifying a self-signed certificate", err, preheat.ErrPingFailed)
	if s := r.stored(in.ID); s.Status != preheat.Unhealthy {
		t.Fatalf("status after a failed ping %q, want Unhealthy", s.Status)
	}
	in.Insecure, in.AuthInfo = true, map[string]string{"username": "u"}
	if _, err := r.svc.UpdateInstance(ctx, admin, "local", in); err != nil {
		t.Fatal(err)
	}
	if err := r.svc.PingInstance(ctx, admin, preheat.Instance{ID: in.ID}); err != nil {
		t.Fatalf("ping of an Insecure instance: %v", err)
	}
	if s := r.stored(in.ID); s.Status != preheat.Healthy {
		t.Fatalf("status after a ping %q, want Healthy", s.Status)
	}
	if got := lastAuth(); got != "u:pw" {
		t.Fatalf("the provider authenticated as %q, want u:pw (the stored password)", got)
	}
	// An instance not stored can be pinged too.
	err = r.svc.PingInstance(ctx, admin, preheat.Instance{Vendor: "fake", Endpoint: srv.URL, Insecure: true})
	if err != nil {
		t.Fatalf("ping of a new instance: %v", err)
	}
	err = r.svc.PingInstance(ctx, admin, preheat.Instance{Vendor: "fake", Endpoint: srv.URL + "/nothing-here", Insecure: true})
	wantIs(t, "ping of an endpoint that answers 404", err, preheat.ErrPingFailed)
	r.fake.set(func(f *fakeP2P) { f.healthErr = errors.New("down") })
	err = r.svc.PingInstance(ctx, admin, preheat.Instance{Vendor: "fake", Endpoint: "https://p2p.example"})
	wantIs(t, "ping of a down instance", err, preheat.ErrPingFailed)
}
