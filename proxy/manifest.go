package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/registry"
	"github.com/berthreg/berth/registry/inproc"
)

// Manifest makes manifest ref of repo current in the cache (see
// registry.Upstream): a tag held and checked within the project's TTL is
// left alone; else the upstreams are asked in order, a held tag with a
// HEAD (which Docker Hub does not count as a pull), and what changed or
// is missing is fetched and pushed here.
func (s *Service) Manifest(ctx context.Context, repo, ref string) (registry.UpstreamResult, error) {
	st, upRepo, ok, err := s.cacheOf(ctx, repo)
	res := registry.UpstreamResult{Handled: ok || err != nil}
	if !ok {
		return res, err
	}
	isDigest := strings.Contains(ref, ":")
	var have digest.Digest
	if !isDigest {
		if s.wasChecked(repo, ref, st.ttl()) {
			return res, nil // current within the TTL (a delete here forgets it: Hooks)
		}
		if have, err = s.localTag(ctx, repo, ref); err != nil {
			return res, err
		}
	}
	ups, err := s.upstreams(ctx, st, upRepo)
	if err != nil {
		return res, err
	}
	var fails []answer
	for _, u := range ups {
		fetched, err := s.fetchManifest(ctx, u, repo, ref, isDigest, have)
		s.observe(Observation{Kind: "manifest", Project: st.Project, Upstream: u.name, Err: err})
		if err == nil {
			if !isDigest {
				s.noteChecked(repo, ref)
			}
			if fetched {
				res.From = u.name
			}
			return res, nil
		}
		a := answerOf(u.name, err)
		if a.local {
			return res, err
		}
		fails = append(fails, a)
	}
	res.Warning, err = s.stale(ctx, repo, ref, have, fails)
	if res.Warning != "" {
		s.observe(Observation{Kind: "stale", Project: st.Project})
	}
	return res, err
}

// stale is what a pull gets when no upstream had ref: the cached copy
// with a warning when an upstream failed, else the upstreams' answers.
func (s *Service) stale(ctx context.Context, repo, ref string, have digest.Digest, fails []answer) (string, error) {
	if len(fails) == 0 {
		return "", registry.NewError(http.StatusBadGateway, registry.CodeUnavailable, "%s:%s: the cache has no usable upstream registry", repo, ref)
	}
	if allNotFound(fails) {
		return "", registry.NewError(http.StatusNotFound, registry.CodeManifestUnknown, "%s:%s is not upstream (%s)", repo, ref, summary(fails))
	}
	if have != "" {
		s.logger.WarnContext(ctx, "proxy: upstream failed, serving the cached copy", "repository", repo, "reference", ref, "upstreams", summary(fails))
		return warning(fails), nil
	}
	return "", upstreamError(repo+":"+ref, fails)
}

// fetchManifest brings manifest ref of repo from u: for a tag the cache
// holds at have, a HEAD first, and nothing more when u has the same
// (fetched false).
func (s *Service) fetchManifest(ctx context.Context, u upstream, repo, ref string, isDigest bool, have digest.Digest) (fetched bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	var r name.Reference = u.repo.Tag(ref)
	if isDigest {
		r = u.repo.Digest(ref)
	}
	opts := append([]remote.Option{remote.WithContext(ctx)}, u.opts...)
	if have != "" {
		desc, err := remote.Head(r, opts...)
		if err != nil {
			return false, err
		}
		if desc.Digest.String() == have.String() {
			return false, nil
		}
	}
	desc, err := remote.Get(r, opts...)
	if err != nil {
		return false, err
	}
	if isDigest && digest.Digest(ref).Algorithm().FromBytes(desc.Manifest) != digest.Digest(ref) {
		return false, fmt.Errorf("proxy: upstream %s sent another manifest than %s", u.name, ref)
	}
	return true, s.pushManifest(ctx, repo, ref, string(desc.MediaType), desc.Manifest)
}

// ownKey marks the context of the Service's own requests into this
// registry.
type ownKey struct{}

// own is ctx marked as the Service's.
func own(ctx context.Context) context.Context { return context.WithValue(ctx, ownKey{}, true) }

// isOwn reports whether ctx is a request of the Service's.
func isOwn(ctx context.Context) bool { return ctx.Value(ownKey{}) != nil }

// Sparse lets the Service's own manifest pushes reference what the cache
// does not hold yet (registry.Upstream).
func (s *Service) Sparse(ctx context.Context, _ string) bool { return isOwn(ctx) }

// localError is a failure writing into this registry: no upstream's.
type localError struct{ err error }

func (e *localError) Error() string { return e.err.Error() }
func (e *localError) Unwrap() error { return e.err }

// pushManifest writes a fetched manifest into this registry under ref.
func (s *Service) pushManifest(ctx context.Context, repo, ref, mediaType string, body []byte) error {
	req, err := http.NewRequestWithContext(own(context.WithoutCancel(ctx)), http.MethodPut,
		"http://"+inproc.Host+"/v2/"+repo+"/manifests/"+ref, bytes.NewReader(body))
	if err != nil {
		return &localError{err}
	}
	req.Header.Set("Content-Type", mediaType)
	req.ContentLength = int64(len(body))
	return s.localDo(req, http.StatusCreated)
}

// localDo sends req into this registry and wants status.
func (s *Service) localDo(req *http.Request, status int) error {
	resp, err := s.local.RoundTrip(req)
	if err != nil {
		return &localError{fmt.Errorf("proxy: storing %s: %w", req.URL.Path, err)}
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != status {
		return &localError{fmt.Errorf("proxy: storing %s: %d %s", req.URL.Path, resp.StatusCode, bytes.TrimSpace(msg))}
	}
	return nil
}

// answer is what one upstream answered a failed fetch.
type answer struct {
	upstream string
	status   int // the HTTP status, 0 when there was no answer
	reason   string
	local    bool // the failure was this registry's, not the upstream's
}

func answerOf(upstream string, err error) answer {
	var le *localError
	if errors.As(err, &le) {
		return answer{upstream: upstream, reason: err.Error(), local: true}
	}
	a := answer{upstream: upstream, reason: err.Error()}
	var te *transport.Error
	if errors.As(err, &te) {
		a.status = te.StatusCode
		a.reason = fmt.Sprintf("%d %s", te.StatusCode, http.StatusText(te.StatusCode))
	} else if errors.Is(err, context.DeadlineExceeded) {
		a.reason = "no answer in time"
	}
	return a
}

func allNotFound(fails []answer) bool {
	for _, a := range fails {
		if a.status != http.StatusNotFound {
			return false
		}
	}
	return true
}

// summary is the answers, one "upstream: reason" each.
func summary(fails []answer) string {
	parts := make([]string, 0, len(fails))
	for _, a := range fails {
		parts = append(parts, a.upstream+": "+a.reason)
	}
	return strings.Join(parts, "; ")
}

// warning is the Warning header of a stale copy served (RFC 7234's 110).
func warning(fails []answer) string {
	text := strings.NewReplacer(`"`, "'", "\r", " ", "\n", " ").Replace(summary(fails))
	if len(text) > 200 {
		text = text[:200]
	}
	return `110 berth "Response is Stale: ` + text + `"`
}

// upstreamError is the error of a pull of what that nothing cached
// answers, saying what the upstreams answered: 429 when one did (so the
// client backs off), else 502.
func upstreamError(what string, fails []answer) error {
	for _, a := range fails {
		if a.status == http.StatusTooManyRequests {
			return registry.NewError(http.StatusTooManyRequests, registry.CodeTooManyRequests, "%s: the upstream registries refused (%s)", what, summary(fails))
		}
	}
	return registry.NewError(http.StatusBadGateway, registry.CodeUnavailable, "%s: the upstream registries failed (%s)", what, summary(fails))
}
