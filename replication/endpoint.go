package replication

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/berthreg/berth/netguard"
)

// Remote is a registry endpoint made usable: its host[:port] for
// references and how to reach it.
type Remote struct {
	// Host is the registry's host[:port].
	Host string
	// Insecure uses plain HTTP.
	Insecure bool
	// Transport is the endpoint's base transport (TLS settings), which
	// bandwidth limits and counters wrap.
	Transport http.RoundTripper
	// Auth is the endpoint's credentials.
	Auth authn.Authenticator
}

// EndpointOption sets how endpoints are reached.
type EndpointOption func(*endpointOptions)

type endpointOptions struct {
	guard *netguard.Guard
}

// WithGuard checks the addresses an endpoint's connections go to with g
// (default: a guard that allows no internal address). Token services and
// redirects the endpoint names are checked alike.
func WithGuard(g *netguard.Guard) EndpointOption {
	return func(o *endpointOptions) { o.guard = g }
}

// CheckEndpoint reports what is wrong with an endpoint record as a
// *FieldError (ErrInvalid); a literal internal address the guard refuses
// is one. It does not check the name's form (see CheckName): a ping
// checks endpoints that are not stored.
func CheckEndpoint(r Registry, opts ...EndpointOption) error {
	_, err := RemoteOf(r, opts...)
	return err
}

// RemoteOf turns an endpoint record into a Remote: http URLs are plain
// HTTP, https ones TLS with the record's CA bundle or no verification,
// both dialing through the guard (WithGuard) and never through a proxy.
// A record it cannot use is a *FieldError, as for CheckEndpoint.
func RemoteOf(r Registry, opts ...EndpointOption) (Remote, error) {
	var o endpointOptions
	for _, opt := range opts {
		opt(&o)
	}
	if r.Name == "" {
		return Remote{}, invalid("name", "required")
	}
	u, err := url.Parse(r.URL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return Remote{}, invalid("url", "%q is not an http(s)://host[:port] address", r.URL)
	}
	if p := strings.Trim(u.Path, "/"); p != "" || u.RawQuery != "" || u.User != nil {
		return Remote{}, invalid("url", "%q must be only scheme and host (no path, query or user)", r.URL)
	}
	if err := o.guard.CheckHost(u.Hostname()); err != nil {
		return Remote{}, invalid("url", "%w; an operator may allow it (outbound allow-list)", err)
	}
	tr := o.guard.Transport()
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: r.Insecure} //nolint:gosec // the operator's choice
	if r.CACert != "" {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(r.CACert)) {
			return Remote{}, invalid("caCert", "no PEM certificate in it")
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	rt := o.guard.RoundTripper(tr)
	if u.Scheme == "https" {
		// go-containerregistry falls back to plain HTTP for loopback and
		// private addresses; an https endpoint never does.
		rt = httpsOnly{rt}
	}
	var a authn.Authenticator = authn.Anonymous
	if r.Username != "" || r.Password != "" {
		a = &authn.Basic{Username: r.Username, Password: r.Password}
	}
	return Remote{Host: u.Host, Insecure: u.Scheme == "http", Transport: rt, Auth: a}, nil
}

// httpsOnly refuses plain HTTP requests.
type httpsOnly struct{ rt http.RoundTripper }

func (h httpsOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "https" {
		return nil, fmt.Errorf("replication: refusing plain HTTP to %s: the endpoint is https", req.URL.Host)
	}
	return h.rt.RoundTrip(req)
}

// With returns the remote as an Endpoint, its transport wrapped by wrap
// (a bandwidth limit, a byte counter; nil: none).
func (r Remote) With(wrap func(http.RoundTripper) http.RoundTripper) Endpoint {
	rt := r.Transport
	if wrap != nil {
		rt = wrap(rt)
	}
	return Endpoint{Insecure: r.Insecure, Options: []remote.Option{remote.WithAuth(r.Auth), remote.WithTransport(rt)}}
}
