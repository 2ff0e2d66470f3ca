package artifact

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"gopkg.in/yaml.v3"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/meta"
)

// Additions, Harbor's names for what an artifact shows beside its
// manifest.
const (
	// AdditionBuildHistory is an image's build history (JSON).
	AdditionBuildHistory = "build_history"
	// AdditionReadme is a Helm chart's README (Markdown).
	AdditionReadme = "readme.md"
	// AdditionValues is a Helm chart's values.yaml (YAML).
	AdditionValues = "values.yaml"
	// AdditionDependencies is a Helm chart's dependencies (JSON).
	AdditionDependencies = "dependencies"
	// AdditionSBOM is the document of an artifact's newest SBOM accessory
	// (the scanner's, or one attached with cosign or oras), as stored.
	AdditionSBOM = "sbom"
)

// maxSBOMRead bounds an SBOM document the API hands out.
const maxSBOMRead = 32 << 20

// Media types of Helm charts stored as OCI artifacts.
const (
	helmConfigType = "application/vnd.cncf.helm.config.v1+json"
	helmChartType  = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
)

// Dependency is a chart a Helm chart depends on.
type Dependency struct {
	Name       string `json:"name" yaml:"name"`
	Version    string `json:"version" yaml:"version"`
	Repository string `json:"repository" yaml:"repository"`
}

// Addition returns addition kind of the artifact reference names in
// repo, and its content type: an image's build history, a chart's
// README, values or dependencies, or its newest SBOM's document. An artifact without it is
// meta.ErrNotFound-wrapped; an unknown kind is ErrInvalid.
func (s *Service) Addition(ctx context.Context, p auth.Principal, repo, reference, kind string) ([]byte, string, error) {
	switch kind {
	case AdditionBuildHistory, AdditionReadme, AdditionValues, AdditionDependencies, AdditionSBOM:
	default:
		return nil, "", invalid("addition", fmt.Sprintf("%q: one of build_history, readme.md, values.yaml, dependencies, sbom", kind))
	}
	if err := s.need(ctx, p, repo, auth.ActionPull); err != nil {
		return nil, "", err
	}
	if kind == AdditionSBOM {
		return s.sbom(ctx, repo, reference)
	}
	m, err := s.manifest(ctx, repo, reference)
	if err != nil {
		return nil, "", err
	}
	missing := fmt.Errorf("artifact: %s@%s has no %s: %w", repo, m.Digest, kind, errNoAddition)
	if kind == AdditionBuildHistory {
		if m.Config.Digest == "" || m.Config.MediaType == helmConfigType {
			return nil, "", missing
		}
		raw, err := s.readContent(ctx, m.Config.Digest, maxManifestRead)
		if err != nil {
			return nil, "", err
		}
		var img ocispec.Image
		if err := json.Unmarshal(raw, &img); err != nil {
			return nil, "", missing
		}
		history := img.History
		if history == nil {
			history = []ocispec.History{}
		}
		out, err := json.Marshal(history)
		return out, "application/json", err
	}
	if m.Config.MediaType != helmConfigType {
		return nil, "", missing
	}
	for _, l := range m.Layers {
		if l.MediaType != helmChartType {
			continue
		}
		raw, err := s.readContent(ctx, l.Digest, maxChartRead)
		if err != nil {
			return nil, "", err
		}
		return chartAddition(raw, kind, missing)
	}
	return nil, "", missing
}

// errNoAddition is wrapped, with meta.ErrNotFound, by a missing addition.
var errNoAddition = notFoundError("no such addition")

// chartAddition reads kind from a packaged chart (a gzipped tar of one
// directory).
func chartAddition(tgz []byte, kind string, missing error) ([]byte, string, error) {
	want := map[string]string{AdditionReadme: "README.md", AdditionValues: "values.yaml", AdditionDependencies: "Chart.yaml"}[kind]
	zr, err := gzip.NewReader(bytes.NewReader(tgz))
	if err != nil {
		return nil, "", fmt.Errorf("%w: the chart is not gzipped: %v", ErrInvalid, err)
	}
	tr := tar.NewReader(zr)
	var requirements []byte
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, "", fmt.Errorf("%w: the chart is not a tar archive: %v", ErrInvalid, err)
		}
		// Files of the chart itself, not of charts it bundles.
		dir, file := path.Split(path.Clean(h.Name))
		if strings.Count(dir, "/") != 1 || h.Typeflag != tar.TypeReg {
			continue
		}
		if !strings.EqualFold(file, want) && !(kind == AdditionDependencies && file == "requirements.yaml") {
			continue
		}
		body, err := io.ReadAll(io.LimitReader(tr, maxChartRead))
		if err != nil {
			return nil, "", fmt.Errorf("%w: the chart's %s cannot be read: %v", ErrInvalid, h.Name, err)
		}
		switch {
		case kind == AdditionReadme:
			return body, "text/markdown; charset=utf-8", nil
		case kind == AdditionValues:
			return body, "application/yaml", nil
		case file == "requirements.yaml":
			requirements = body
			continue
		}
		return dependencies(body, requirements)
	}
	if kind == AdditionDependencies && requirements != nil {
		return dependencies(nil, requirements)
	}
	return nil, "", missing
}

// dependencies lists a chart's dependencies from its Chart.yaml (API
// v2) or requirements.yaml (API v1).
func dependencies(chart, requirements []byte) ([]byte, string, error) {
	var doc struct {
		Dependencies []Dependency `yaml:"dependencies"`
	}
	src := chart
	if src == nil {
		src = requirements
	}
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, "", fmt.Errorf("%w: the chart's dependencies do not parse: %v", ErrInvalid, err)
	}
	if len(doc.Dependencies) == 0 && chart != nil && requirements != nil {
		return dependencies(nil, requirements)
	}
	if doc.Dependencies == nil {
		doc.Dependencies = []Dependency{}
	}
	out, err := json.Marshal(doc.Dependencies)
	return out, "application/json", err
}

// sbom returns the first layer of the newest SBOM accessory of the
// artifact reference names in repo, and its media type.
func (s *Service) sbom(ctx context.Context, repo, reference string) ([]byte, string, error) {
	var newest *meta.Manifest
	err := s.store.View(ctx, func(tx meta.Tx) error {
		m, err := resolve(tx, repo, reference)
		if err != nil {
			return err
		}
		all, err := accessoriesOf(tx, repo, m.Digest)
		if err != nil {
			return err
		}
		var pick *Accessory
		for i, a := range all {
			if a.Type == TypeSBOM && (pick == nil || a.CreatedAt.After(pick.CreatedAt)) {
				pick = &all[i]
			}
		}
		if pick == nil {
			return fmt.Errorf("artifact: %s@%s has no SBOM: %w", repo, m.Digest, errNoAddition)
		}
		acc, err := tx.Manifests().Get(repo, pick.Digest)
		if err != nil {
			return err
		}
		newest = &acc
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	if len(newest.Layers) == 0 {
		return nil, "", fmt.Errorf("artifact: the SBOM %s of %s has no layer: %w", newest.Digest, repo, errNoAddition)
	}
	l := newest.Layers[0]
	raw, err := s.readContent(ctx, l.Digest, maxSBOMRead)
	if err != nil {
		return nil, "", err
	}
	return raw, l.MediaType, nil
}
