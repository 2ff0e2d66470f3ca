package api

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/artifact"
	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/internal/harborq"
	"github.com/berthreg/berth/scan"
	"github.com/berthreg/berth/scan/engine"
)

// artifactJSON is Harbor's Artifact.
type artifactJSON struct {
	Type              string                   `json:"type"`
	Digest            string                   `json:"digest"`
	MediaType         string                   `json:"media_type"`
	ManifestMediaType string                   `json:"manifest_media_type"`
	ArtifactType      string                   `json:"artifact_type,omitempty"`
	Size              int64                    `json:"size"`
	PushTime          time.Time                `json:"push_time"`
	PullTime          *time.Time               `json:"pull_time,omitempty"`
	RepositoryName    string                   `json:"repository_name"`
	Tags              []tagJSON                `json:"tags"`
	Annotations       map[string]string        `json:"annotations,omitempty"`
	References        []referenceJSON          `json:"references,omitempty"`
	Accessories       []accessoryJSON          `json:"accessories,omitempty"`
	ScanOverview      map[string]scan.Overview `json:"scan_overview,omitempty"`
	Labels            []labelJSON              `json:"labels,omitempty"`
	ExtraAttrs        map[string]any           `json:"extra_attrs,omitempty"`
	AdditionLinks     map[string]additionLink  `json:"addition_links,omitempty"`
	Signed            *bool                    `json:"signed,omitempty"`
}

// tagJSON is Harbor's Tag.
type tagJSON struct {
	Name      string    `json:"name"`
	Digest    string    `json:"digest,omitempty"`
	PushTime  time.Time `json:"push_time"`
	Immutable bool      `json:"immutable"`
}

// referenceJSON is Harbor's Reference: a child of an index.
type referenceJSON struct {
	ChildDigest string            `json:"child_digest"`
	MediaType   string            `json:"media_type,omitempty"`
	Size        int64             `json:"size"`
	Platform    *platformJSON     `json:"platform,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	URLs        []string          `json:"urls,omitempty"`
}

// platformJSON is Harbor's Platform.
type platformJSON struct {
	Architecture string   `json:"architecture"`
	OS           string   `json:"os"`
	OSVersion    string   `json:"os.version,omitempty"`
	OSFeatures   []string `json:"os.features,omitempty"`
	Variant      string   `json:"variant,omitempty"`
}

// accessoryJSON is Harbor's Accessory.
type accessoryJSON struct {
	Digest                string    `json:"digest"`
	Type                  string    `json:"type"`
	Size                  int64     `json:"size"`
	MediaType             string    `json:"media_type,omitempty"`
	ArtifactType          string    `json:"artifact_type,omitempty"`
	SubjectArtifactDigest string    `json:"subject_artifact_digest"`
	SubjectArtifactRepo   string    `json:"subject_artifact_repo"`
	Tag                   string    `json:"tag,omitempty"`
	CreationTime          time.Time `json:"creation_time"`
}

// additionLink is Harbor's AdditionLink.
type additionLink struct {
	Href     string `json:"href"`
	Absolute bool   `json:"absolute"`
}

// artifactKind is Harbor's artifact type, from the config media type.
func artifactKind(configType, manifestType string) string {
	switch {
	case configType == "application/vnd.cncf.helm.config.v1+json":
		return "CHART"
	case strings.Contains(configType, "cnab"):
		return "CNAB"
	case strings.Contains(configType, "wasm"):
		return "WASM"
	case configType == "application/vnd.oci.image.config.v1+json", configType == "application/vnd.docker.container.image.v1+json",
		strings.Contains(manifestType, "index"), strings.Contains(manifestType, "manifest.list"):
		return "IMAGE"
	}
	return "UNKNOWN"
}

func toArtifactJSON(a artifact.Artifact, w artifact.With) artifactJSON {
	m := a.Manifest
	out := artifactJSON{Type: artifactKind(m.Config.MediaType, m.MediaType), Digest: m.Digest.String(), MediaType: m.Config.MediaType,
		ManifestMediaType: m.MediaType, ArtifactType: m.ArtifactType, Size: a.Size, PushTime: m.PushedAt,
		RepositoryName: a.Repository, Tags: []tagJSON{}, Annotations: m.Annotations}
	if out.MediaType == "" {
		out.MediaType = m.MediaType
	}
	if !a.PullTime.IsZero() {
		out.PullTime = &a.PullTime
	}
	if len(out.Annotations) == 0 {
		out.Annotations = nil
	}
	for _, t := range a.Tags {
		out.Tags = append(out.Tags, tagJSON{Name: t.Name, PushTime: t.PushedAt, Immutable: t.Immutable})
	}
	for _, c := range a.References {
		ref := referenceJSON{ChildDigest: c.Digest.String(), MediaType: c.MediaType, Size: c.Size, Annotations: c.Annotations, URLs: c.URLs}
		if c.Platform != nil {
			ref.Platform = &platformJSON{Architecture: c.Platform.Architecture, OS: c.Platform.OS, OSVersion: c.Platform.OSVersion,
				OSFeatures: c.Platform.OSFeatures, Variant: c.Platform.Variant}
		}
		out.References = append(out.References, ref)
	}
	for _, x := range a.Accessories {
		out.Accessories = append(out.Accessories, toAccessoryJSON(a.Repository, x))
	}
	if c := a.Config; c != nil {
		out.ExtraAttrs = map[string]any{"architecture": c.Architecture, "os": c.OS, "author": c.Author, "config": c.Config}
		if c.Created != nil {
			out.ExtraAttrs["created"] = c.Created
		}
		if c.Variant != "" {
			out.ExtraAttrs["variant"] = c.Variant
		}
	}
	if w.Labels {
		out.Labels = []labelJSON{}
		for _, l := range a.Labels {
			out.Labels = append(out.Labels, toLabelJSON(l))
		}
	}
	if a.Scan != nil {
		out.ScanOverview = map[string]scan.Overview{scan.MimeVulnReport: engine.Overview(*a.Scan)}
	}
	if w.Signature {
		signed := a.Signed
		out.Signed = &signed
	}
	base := Prefix + "/projects/" + projectPart(a.Repository) + "/repositories/" + doubleEscape(repoPart(a.Repository)) + "/artifacts/" + out.Digest + "/additions/"
	out.AdditionLinks = map[string]additionLink{"vulnerabilities": {Href: base + "vulnerabilities"}}
	switch out.Type {
	case "IMAGE":
		if m.Config.Digest != "" {
			out.AdditionLinks[artifact.AdditionBuildHistory] = additionLink{Href: base + artifact.AdditionBuildHistory}
		}
		out.AdditionLinks[artifact.AdditionSBOM] = additionLink{Href: base + artifact.AdditionSBOM}
	case "CHART":
		for _, k := range []string{artifact.AdditionReadme, artifact.AdditionValues, artifact.AdditionDependencies} {
			out.AdditionLinks[k] = additionLink{Href: base + k}
		}
	}
	return out
}

func toAccessoryJSON(repo string, x artifact.Accessory) accessoryJSON {
	return accessoryJSON{Digest: x.Digest.String(), Type: x.Type, Size: x.Size, MediaType: x.MediaType, ArtifactType: x.ArtifactType,
		SubjectArtifactDigest: x.Subject.String(), SubjectArtifactRepo: repo, Tag: x.Tag, CreationTime: x.CreatedAt}
}

func projectPart(repo string) string { p, _, _ := strings.Cut(repo, "/"); return p }
func repoPart(repo string) string    { _, r, _ := strings.Cut(repo, "/"); return r }

// doubleEscape encodes a repository name inside its project as Harbor's
// paths take it ("a/b" → "a%252Fb").
func doubleEscape(name string) string { return url.PathEscape(url.PathEscape(name)) }

// withParams reads Harbor's with_* parameters (with_tag defaults to true).
func withParams(r *http.Request) (artifact.With, error) {
	q := r.URL.Query()
	flag := func(key string, def bool) (bool, error) {
		v := q.Get(key)
		if v == "" {
			return def, nil
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			return false, badRequest("%s: %q is not true or false", key, v)
		}
		return b, nil
	}
	var w artifact.With
	var err error
	for _, f := range []struct {
		key string
		def bool
		dst *bool
	}{{"with_tag", true, &w.Tags}, {"with_scan_overview", false, &w.Scan}, {"with_accessory", false, &w.Accessories},
		{"with_signature", false, &w.Signature}, {"with_immutable_status", false, &w.Immutable}, {"with_label", false, &w.Labels}} {
		if *f.dst, err = flag(f.key, f.def); err != nil {
			return w, err
		}
	}
	return w, nil
}

// parseArtifactQuery reads q and sort of an artifact listing.
func parseArtifactQuery(r *http.Request) (artifact.ArtifactQuery, error) {
	q := artifact.ArtifactQuery{Sort: r.URL.Query().Get("sort")}
	parsed, err := harborq.Parse(r.URL.Query().Get("q"), "tags", "media_type", "push_time", "digest", "labels")
	if err != nil {
		return q, badRequest("%v", err)
	}
	for _, c := range parsed.Conds() {
		switch {
		case c.Key == "tags" && c.Kind == harborq.Exact && c.Value == "*":
			tagged := true
			q.Tagged = &tagged
		case c.Key == "tags" && c.Kind == harborq.Exact && c.Value == "nil":
			untagged := false
			q.Tagged = &untagged
		case c.Key == "tags" && c.Kind == harborq.Exact:
			q.Tag = c.Value
		case c.Key == "tags" && c.Kind == harborq.Fuzzy:
			q.TagContains = c.Value
		case c.Key == "media_type" && c.Kind == harborq.Exact:
			q.MediaType = c.Value
		case c.Key == "digest" && (c.Kind == harborq.Exact || c.Kind == harborq.AnyOf):
			vals := c.Values
			if c.Kind == harborq.Exact {
				vals = []string{c.Value}
			}
			q.Digests = []digest.Digest{}
			for _, v := range vals {
				d, err := digest.Parse(v)
				if err != nil {
					return q, badRequest("q: digest %q: %v", v, err)
				}
				q.Digests = append(q.Digests, d)
			}
		case c.Key == "labels" && c.Kind == harborq.Exact:
			q.Labels = []string{c.Value}
		case c.Key == "labels" && c.Kind == harborq.AllOf:
			q.Labels = c.Values
		case c.Key == "push_time" && c.Kind == harborq.Range:
			if q.PushedFrom, err = parseQueryTime("push_time", c.Min); err != nil {
				return q, err
			}
			if q.PushedTo, err = parseQueryTime("push_time", c.Max); err != nil {
				return q, err
			}
		default:
			return q, badRequest("q: %s: this form of condition is not supported", c.Key)
		}
	}
	return q, nil
}

// parseQueryTime reads a time bound of q: RFC 3339, "2006-01-02
// 15:04:05" or "2006-01-02" (UTC), or Unix seconds; "" is no bound.
func parseQueryTime(field, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Unix(n, 0), nil
	}
	return time.Time{}, badRequest("q: %s: %q is not a time", field, v)
}

// listArtifacts is GET /projects/{project}/repositories/{repository}/artifacts.
func (h *Handler) listArtifacts(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	repo, pg, err := pagedRepository(r)
	if err != nil {
		return err
	}
	q, err := parseArtifactQuery(r)
	if err != nil {
		return err
	}
	if q.With, err = withParams(r); err != nil {
		return err
	}
	q.Offset, q.Limit = (pg.num-1)*pg.size, pg.size
	list, total, err := h.content.ListArtifacts(r.Context(), p, repo, q)
	if err != nil {
		return toAPIErrorNamed(err, "repository "+repo)
	}
	out := make([]artifactJSON, 0, len(list))
	for _, a := range list {
		out = append(out, toArtifactJSON(a, q.With))
	}
	writeCounted(w, r, pg, out, total)
	return nil
}

// getArtifact is GET /projects/{project}/repositories/{repository}/artifacts/{reference}.
func (h *Handler) getArtifact(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	repo, err := repositoryOf(r)
	if err != nil {
		return err
	}
	with, err := withParams(r)
	if err != nil {
		return err
	}
	with.Scan = true // the scan overview was always shown here
	ref := r.PathValue("reference")
	a, err := h.content.GetArtifact(r.Context(), p, repo, ref, with)
	if err != nil {
		return toAPIErrorNamed(err, "artifact "+repo+":"+ref)
	}
	writeJSON(w, http.StatusOK, toArtifactJSON(a, with))
	return nil
}

// deleteArtifact is DELETE …/artifacts/{reference}.
func (h *Handler) deleteArtifact(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	repo, err := repositoryOf(r)
	if err != nil {
		return err
	}
	ref := r.PathValue("reference")
	if err := h.content.DeleteArtifact(r.Context(), p, repo, ref); err != nil {
		return toAPIErrorNamed(err, "artifact "+repo+":"+ref)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// copyArtifact is POST /projects/{project}/repositories/{repository}/artifacts?from=project/repository:tag|@digest.
func (h *Handler) copyArtifact(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	repo, err := repositoryOf(r)
	if err != nil {
		return err
	}
	from := r.URL.Query().Get("from")
	if from == "" {
		return badRequest("from: required (project/repository:tag or project/repository@digest)")
	}
	d, err := h.content.Copy(r.Context(), p, from, repo)
	if err != nil {
		return toAPIErrorNamed(err, "artifact "+from)
	}
	w.Header().Set("Location", Prefix+"/projects/"+projectPart(repo)+"/repositories/"+doubleEscape(repoPart(repo))+"/artifacts/"+d.String())
	w.WriteHeader(http.StatusCreated)
	return nil
}

// listTags is GET …/artifacts/{reference}/tags.
func (h *Handler) listTags(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	repo, pg, err := pagedRepository(r)
	if err != nil {
		return err
	}
	q := artifact.TagQuery{Offset: (pg.num - 1) * pg.size, Limit: pg.size}
	if q.Name, q.NameContains, err = nameFilter(r); err != nil {
		return err
	}
	if v := r.URL.Query().Get("with_immutable_status"); v != "" {
		if q.Immutable, err = strconv.ParseBool(v); err != nil {
			return badRequest("with_immutable_status: %q is not true or false", v)
		}
	}
	ref := r.PathValue("reference")
	list, total, err := h.content.ListTags(r.Context(), p, repo, ref, q)
	if err != nil {
		return toAPIErrorNamed(err, "artifact "+repo+":"+ref)
	}
	out := make([]tagJSON, 0, len(list))
	for _, t := range list {
		out = append(out, tagJSON{Name: t.Name, Digest: t.Digest.String(), PushTime: t.PushedAt, Immutable: t.Immutable})
	}
	writeCounted(w, r, pg, out, total)
	return nil
}

// createTag is POST …/artifacts/{reference}/tags with {"name": tag}.
func (h *Handler) createTag(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	repo, err := repositoryOf(r)
	if err != nil {
		return err
	}
	var req struct {
		Name string `json:"name"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.Name == "" {
		return badRequest("name: required")
	}
	ref := r.PathValue("reference")
	if err := h.content.CreateTag(r.Context(), p, repo, ref, req.Name); err != nil {
		return toAPIErrorNamed(err, "artifact "+repo+":"+ref)
	}
	w.Header().Set("Location", r.URL.Path+"/"+url.PathEscape(req.Name))
	w.WriteHeader(http.StatusCreated)
	return nil
}

// deleteTag is DELETE …/artifacts/{reference}/tags/{tag}.
func (h *Handler) deleteTag(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	repo, err := repositoryOf(r)
	if err != nil {
		return err
	}
	ref, tag := r.PathValue("reference"), r.PathValue("tag")
	if err := h.content.DeleteTag(r.Context(), p, repo, ref, tag); err != nil {
		return toAPIErrorNamed(err, "tag "+repo+":"+tag)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// listAccessories is GET …/artifacts/{reference}/accessories (q=type=…).
func (h *Handler) listAccessories(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	repo, pg, err := pagedRepository(r)
	if err != nil {
		return err
	}
	parsed, err := harborq.Parse(r.URL.Query().Get("q"), "type")
	if err != nil {
		return badRequest("%v", err)
	}
	typ := ""
	for _, c := range parsed.Conds() {
		if c.Kind != harborq.Exact {
			return badRequest("q: type takes type=value")
		}
		typ = c.Value
	}
	ref := r.PathValue("reference")
	list, total, err := h.content.ListAccessories(r.Context(), p, repo, ref, typ, (pg.num-1)*pg.size, pg.size)
	if err != nil {
		return toAPIErrorNamed(err, "artifact "+repo+":"+ref)
	}
	out := make([]accessoryJSON, 0, len(list))
	for _, x := range list {
		out = append(out, toAccessoryJSON(repo, x))
	}
	writeCounted(w, r, pg, out, total)
	return nil
}

// artifactAddition is GET …/artifacts/{reference}/additions/{addition}: an
// image's build history, a chart's README, values or dependencies, or
// the document of its newest SBOM (sbom, a download).
func (h *Handler) artifactAddition(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	repo, err := repositoryOf(r)
	if err != nil {
		return err
	}
	ref, kind := r.PathValue("reference"), r.PathValue("addition")
	body, ctype, err := h.content.Addition(r.Context(), p, repo, ref, kind)
	if err != nil {
		return toAPIErrorNamed(err, kind+" of "+repo+":"+ref)
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if kind == artifact.AdditionSBOM {
		w.Header().Set("Content-Disposition", `attachment; filename="sbom.json"`)
	}
	_, err = w.Write(body)
	return err
}

// pagedRepository reads the repository and the page of a listing below
// it.
func pagedRepository(r *http.Request) (string, page, error) {
	repo, err := repositoryOf(r)
	if err != nil {
		return "", page{}, err
	}
	pg, err := parsePage(r)
	return repo, pg, err
}
