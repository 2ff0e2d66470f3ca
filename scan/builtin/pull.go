package builtin

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/berthreg/berth/scan"
)

// reference is the image a request names: registry host from
// Registry.URL (plain http:// is pulled insecurely), repository and
// digest from Artifact.
func reference(req scan.Request) (name.Digest, error) {
	u, err := url.Parse(req.Registry.URL)
	if err != nil {
		return name.Digest{}, fmt.Errorf("registry.url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return name.Digest{}, fmt.Errorf("registry.url: %q: want http:// or https:// and a host", req.Registry.URL)
	}
	if strings.Trim(u.Path, "/") != "" || u.RawQuery != "" {
		return name.Digest{}, fmt.Errorf("registry.url: %q: a registry is served at its host's root", req.Registry.URL)
	}
	var opts []name.Option
	if u.Scheme == "http" {
		opts = append(opts, name.Insecure)
	}
	d, err := name.NewDigest(u.Host+"/"+req.Artifact.Repository+"@"+req.Artifact.Digest, append(opts, name.StrictValidation)...)
	if err != nil {
		return name.Digest{}, fmt.Errorf("artifact: %w", err)
	}
	return d, nil
}

// authenticator turns the request's Authorization header value into
// credentials: "Bearer T" a registry token, "Basic B" base64 user:password,
// "" anonymous.
func authenticator(authorization string) (authn.Authenticator, error) {
	scheme, value, _ := strings.Cut(strings.TrimSpace(authorization), " ")
	value = strings.TrimSpace(value)
	switch {
	case authorization == "":
		return authn.Anonymous, nil
	case strings.EqualFold(scheme, "Bearer") && value != "":
		return authn.FromConfig(authn.AuthConfig{RegistryToken: value}), nil
	case strings.EqualFold(scheme, "Basic") && value != "":
		return authn.FromConfig(authn.AuthConfig{Auth: value}), nil
	}
	return nil, fmt.Errorf("registry.authorization: want \"Bearer <token>\" or \"Basic <base64>\"")
}

// pull fetches the image manifest (and, lazily, its config and layers).
func (s *Scanner) pull(ctx context.Context, ref name.Digest, authorization string) (v1.Image, error) {
	auth, err := authenticator(authorization)
	if err != nil {
		return nil, err
	}
	img, err := remote.Image(ref, remote.WithContext(ctx), remote.WithAuth(auth), remote.WithTransport(s.transport),
		remote.WithUserAgent("berth-builtin-scanner/"+s.info.Version))
	if err != nil {
		return nil, fmt.Errorf("pulling the image: %w", err)
	}
	return img, nil
}
