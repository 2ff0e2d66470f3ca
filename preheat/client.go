package preheat

import (
	"crypto/tls"
	"fmt"
	"maps"
	"net/http"
	"time"
)

// requestTimeout bounds one request to a provider.
const requestTimeout = 30 * time.Second

// transports builds the two round trippers every provider's client uses:
// through the outbound guard, verifying TLS certificates or (Insecure
// instances) not. They are shared, so connections are pooled.
func (s *Service) transports() {
	for _, insecure := range []bool{false, true} {
		tr := s.guard.Transport()
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: insecure} //nolint:gosec // the operator's choice, per instance
		rt := s.guard.RoundTripper(tr)
		if insecure {
			s.insecureRT = rt
		} else {
			s.secureRT = rt
		}
	}
}

// endpoint is what in's provider is made from, with the guarded client.
func (s *Service) endpoint(in Instance) Endpoint {
	rt := s.secureRT
	if in.Insecure {
		rt = s.insecureRT
	}
	return Endpoint{URL: in.Endpoint, AuthMode: in.AuthMode, AuthInfo: maps.Clone(in.AuthInfo),
		Client: &http.Client{Transport: rt, Timeout: requestTimeout}}
}

// provider makes in's Provider with its vendor's factory.
func (s *Service) provider(in Instance) (Provider, error) {
	f, ok := s.vendors[in.Vendor]
	if !ok {
		return nil, fmt.Errorf("preheat: %s: vendor %q is not registered (WithProvider)", describeInstance(in), in.Vendor)
	}
	p, err := f(s.endpoint(in))
	if err != nil {
		return nil, fmt.Errorf("preheat: %s: %w", describeInstance(in), err)
	}
	return p, nil
}
