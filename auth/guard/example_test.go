package guard_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/guard"
	"github.com/berthreg/berth/auth/rbac"
	"github.com/berthreg/berth/auth/token"
	"github.com/berthreg/berth/meta/bolt"
	"github.com/berthreg/berth/registry"
	"github.com/berthreg/berth/storage/memory"
)

type noProjects struct{}

func (noProjects) Project(context.Context, string) (rbac.Project, error) {
	return rbac.Project{}, rbac.ErrNoProject
}

// Example wires a guard and the token service into one server: an
// anonymous ping is sent to /service/token.
func Example() {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	iss, _ := token.NewIssuer(key, "berth-token", 5*time.Minute)
	kid, pub := iss.PublicKey()
	ver, _ := token.NewVerifier("berth-token", "berth-registry", map[string]crypto.PublicKey{kid: pub})
	az, _ := rbac.New(noProjects{})
	users := auth.AuthenticatorFunc(func(context.Context, string, string) (auth.Principal, error) {
		return auth.Principal{}, auth.ErrBadCredentials
	})

	dir, _ := os.MkdirTemp("", "guard-example")
	defer os.RemoveAll(dir)
	store, _ := bolt.Open(filepath.Join(dir, "meta.db"))
	defer store.Close()
	g, err := guard.New("/service/token", "berth-registry", ver, az, guard.WithAuthenticator(users))
	if err != nil {
		panic(err)
	}
	tokens, err := token.NewService(iss, "berth-registry", users, az)
	if err != nil {
		panic(err)
	}
	h, _ := registry.New(memory.New(), store, registry.WithHooks(g.Hooks()))
	mux := http.NewServeMux()
	mux.Handle("/v2/", h)
	mux.Handle("/service/token", tokens)

	r := httptest.NewRequest(http.MethodGet, "http://registry.example/v2/", nil)
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, r)
	fmt.Println(w.Code, w.Header().Get("WWW-Authenticate"))
	// Output: 401 Bearer realm="http://registry.example/service/token",service="berth-registry"
}
