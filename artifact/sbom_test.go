package artifact_test

import (
	"errors"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/artifact"
	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/metatest"
	"github.com/berthreg/berth/storage"
	"github.com/berthreg/berth/storage/memory"
)

// The sbom addition is the document of an artifact's newest SBOM
// accessory, for those who may pull; an artifact without one has none.
func TestSBOMAddition(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	driver := memory.New()
	svc, err := artifact.New(e.store, e.m.Authorizer(), e.m, artifact.WithContent(driver))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.m.CreateProject(ctx, e.admin, "team", false); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	img := manifest("team/app", at)
	metatest.Put(t, e.store, "team/app", img, "v1")
	if _, _, err := svc.Addition(ctx, e.admin, "team/app", "v1", artifact.AdditionSBOM); !errors.Is(err, meta.ErrNotFound) {
		t.Fatalf("no SBOM yet: %v, want ErrNotFound", err)
	}
	sbom := func(doc string, pushed time.Time) {
		t.Helper()
		d := digest.FromString(doc)
		w, err := driver.Writer(ctx, storage.BlobPath(d), 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(doc)); err != nil {
			t.Fatal(err)
		}
		if err := w.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		acc := meta.Manifest{Digest: digest.FromString("manifest of " + doc), MediaType: "application/vnd.oci.image.manifest.v1+json", Size: 300,
			ArtifactType: "application/vnd.goharbor.harbor.sbom.v1", Subject: img.Digest, PushedAt: pushed,
			Config: meta.Descriptor{MediaType: "application/vnd.oci.empty.v1+json", Digest: digest.FromString("{}"), Size: 2},
			Layers: []meta.Descriptor{{MediaType: "application/spdx+json", Digest: d, Size: int64(len(doc))}}}
		metatest.Put(t, e.store, "team/app", acc)
	}
	sbom(`{"spdxVersion":"SPDX-2.3","name":"old"}`, at.Add(time.Hour))
	sbom(`{"spdxVersion":"SPDX-2.3","name":"new"}`, at.Add(2*time.Hour))
	body, ctype, err := svc.Addition(ctx, e.admin, "team/app", "v1", artifact.AdditionSBOM)
	if err != nil || ctype != "application/spdx+json" || string(body) != `{"spdxVersion":"SPDX-2.3","name":"new"}` {
		t.Errorf("the SBOM: %q %q %v", body, ctype, err)
	}
	if err := e.m.SetUser(ctx, "stranger", "stranger-password", false); err != nil {
		t.Fatal(err)
	}
	stranger := auth.Principal{Name: "stranger", Kind: auth.User}
	if _, _, err := svc.Addition(ctx, stranger, "team/app", "v1", artifact.AdditionSBOM); err == nil {
		t.Error("a stranger reads the SBOM of a private project")
	}
}
