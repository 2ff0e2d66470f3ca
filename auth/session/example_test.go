package session_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/berthreg/berth/auth/session"
)

func Example() {
	s, err := session.New([]byte("keep this secret: 32 bytes or more"))
	if err != nil {
		panic(err)
	}
	// A login handler signs the account in...
	w := httptest.NewRecorder()
	if err := s.Start(w, session.SignIn{Account: "alice", Source: "local"}); err != nil {
		panic(err)
	}
	// ...and later requests carry the cookie back.
	r := httptest.NewRequest(http.MethodGet, "/api/v2.0/users/current", nil)
	for _, c := range w.Result().Cookies() {
		r.AddCookie(c)
	}
	in, err := s.Current(r)
	fmt.Println(in.Account, in.Source, err)
	// Output: alice local <nil>
}
