package image

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"debug/buildinfo"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berthreg/berth/internal/eventually"
)

const (
	// nonroot is the uid and gid the image runs as and owns /data with.
	nonroot = 65532
	// repo and tag name the image in the test's Berth.
	repo = "berth/registry"
	tag  = "test"

	mediaIndex    = "application/vnd.oci.image.index.v1+json"
	mediaManifest = "application/vnd.oci.image.manifest.v1+json"
	mediaSBOM     = "application/vnd.cyclonedx+json"
	mediaBundle   = "application/vnd.dev.sigstore.bundle.v0.3+json"
	mainModule    = "github.com/berthreg/berth"
	mainPackage   = mainModule + "/examples/registry"
)

// machines are the platforms scripts/image.sh builds by default and the
// ELF machine of each one's binary.
var machines = map[string]elf.Machine{
	"linux/amd64": elf.EM_X86_64,
	"linux/arm64": elf.EM_AARCH64,
}

// TestImage builds the image with scripts/image.sh, pushes it into a
// Berth started here, attaches the SBOMs and signs the index, and checks
// all of it through the registry API (see the package documentation).
func TestImage(t *testing.T) {
	if os.Getenv("BERTH_IMAGE_TEST") != "1" {
		t.Skip("BERTH_IMAGE_TEST is not 1: the image test cross-compiles the server twice; scripts/image-check.sh runs it")
	}
	root := repoRoot(t)
	tools := toolsDir(t, root)
	commit := strings.TrimSpace(mustRun(t, runner{dir: root}, "git", "rev-parse", "HEAD"))
	epoch, err := strconv.ParseInt(strings.TrimSpace(mustRun(t, runner{dir: root}, "git", "log", "-1", "--format=%ct", commit)), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	reg := startBerth(t, root, work)

	// The script with the caller's environment (its go build needs HOME
	// and the Go caches), minus what would change the result or reach
	// the caller's registry credentials.
	out := filepath.Join(work, "out")
	script := runner{dir: root, timeout: 30 * time.Minute,
		env: filterEnv(os.Environ(), "SOURCE_DATE_EPOCH", "DOCKER_CONFIG"), extra: []string{"DOCKER_CONFIG=" + mkdir(t, work, "script-docker")}}
	start := time.Now()
	pushed := strings.TrimSpace(mustRun(t, script, filepath.Join(root, "scripts", "image.sh"),
		"--out", out, "--rev", commit, reg.host+"/"+repo+":"+tag))
	t.Logf("scripts/image.sh built and pushed %s in %s", pushed, time.Since(start).Round(time.Second))
	_, indexDigest, ok := strings.Cut(pushed, "@")
	if !ok || !strings.HasPrefix(pushed, reg.host+"/"+repo+"@") {
		t.Fatalf("scripts/image.sh printed %q, want %s/%s@<digest>", pushed, reg.host, repo)
	}

	// The index, as the registry serves it under the tag.
	indexBytes := reg.get(t, "/v2/"+repo+"/manifests/"+tag, mediaIndex)
	if got := digestOf(indexBytes); got != indexDigest {
		t.Fatalf("the tag serves %s, the script pushed %s", got, indexDigest)
	}
	var index ociIndex
	mustJSON(t, indexBytes, &index)
	if index.MediaType != mediaIndex {
		t.Fatalf("the tag is a %q, want an image index", index.MediaType)
	}
	platforms := map[string]descriptor{}
	for _, m := range index.Manifests {
		if m.Platform == nil {
			t.Fatalf("index entry %s has no platform", m.Digest)
		}
		p := m.Platform.OS + "/" + m.Platform.Architecture
		if m.Platform.Variant != "" {
			p += "/" + m.Platform.Variant
		}
		if _, dup := platforms[p]; dup {
			t.Fatalf("index lists %s twice", p)
		}
		platforms[p] = m
	}
	if len(platforms) != len(machines) {
		t.Errorf("index has platforms %v, want %v", keys(platforms), keys(machines))
	}
	wantAnnotations(t, "index", index.Annotations, commit)

	t.Run("layout", func(t *testing.T) {
		b, err := os.ReadFile(filepath.Join(out, "digest"))
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(string(b)); got != indexDigest {
			t.Errorf("%s/digest says %s, the script pushed %s", out, got, indexDigest)
		}
		var layout ociIndex
		b, err = os.ReadFile(filepath.Join(out, "oci", "index.json"))
		if err != nil {
			t.Fatal(err)
		}
		mustJSON(t, b, &layout)
		if len(layout.Manifests) != 1 || layout.Manifests[0].Digest != indexDigest || layout.Manifests[0].MediaType != mediaIndex {
			t.Errorf("the layout's index.json lists %+v, want just the image index %s", layout.Manifests, indexDigest)
		}
		blob, err := os.ReadFile(filepath.Join(out, "oci", "blobs", "sha256", strings.TrimPrefix(indexDigest, "sha256:")))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(blob, indexBytes) {
			t.Error("the layout's image index differs from the one in the registry")
		}
	})

	// Each platform's image: what the registry serves, and the SBOM the
	// script wrote for it, attached as a referrer.
	binaries := map[string][]byte{}
	for p, want := range machines {
		t.Run(strings.ReplaceAll(p, "/", "-"), func(t *testing.T) {
			desc, ok := platforms[p]
			if !ok {
				t.Fatalf("index has no %s manifest", p)
			}
			binaries[p] = checkPlatform(t, reg, p, want, desc, commit, epoch)
			sbom := filepath.Join(out, "sbom", "registry-"+strings.ReplaceAll(p, "/", "-")+".cdx.json")
			checkSBOM(t, sbom, p, binaries[p])

			// Attach it with oras, then find it through the referrers API
			// and read it back.
			e := newClientEnv(t, tools)
			e.dir = filepath.Dir(sbom)
			mustRun(t, e, "oras", "attach", "--plain-http", "--artifact-type", mediaSBOM,
				reg.host+"/"+repo+"@"+desc.Digest, filepath.Base(sbom)+":"+mediaSBOM)
			refs := reg.referrers(t, desc.Digest, mediaSBOM)
			if len(refs) != 1 {
				t.Fatalf("referrers of %s with artifactType %s: %d, want 1", desc.Digest, mediaSBOM, len(refs))
			}
			var art manifest
			mustJSON(t, reg.get(t, "/v2/"+repo+"/manifests/"+refs[0].Digest, mediaManifest), &art)
			if art.Subject == nil || art.Subject.Digest != desc.Digest || art.ArtifactType != mediaSBOM ||
				len(art.Layers) != 1 || art.Layers[0].MediaType != mediaSBOM {
				t.Fatalf("the SBOM referrer is %+v", art)
			}
			file, err := os.ReadFile(sbom)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(reg.get(t, "/v2/"+repo+"/blobs/"+art.Layers[0].Digest, ""), file) {
				t.Errorf("the attached SBOM differs from %s", sbom)
			}
		})
	}

	t.Run("cosign", func(t *testing.T) {
		e := newClientEnv(t, tools)
		e.extra = append(e.extra, "COSIGN_PASSWORD=berth-image-test")
		keys, otherKeys := mkdir(t, work, "keys"), mkdir(t, work, "other-keys")
		for _, d := range []string{keys, otherKeys} {
			k := e
			k.dir = d
			mustRun(t, k, "cosign", "generate-key-pair")
		}
		ref := reg.host + "/" + repo + "@" + indexDigest
		verify := func(pub string) []string {
			return []string{"verify", "--key", pub, "--insecure-ignore-tlog=true",
				"--allow-http-registry", "--allow-insecure-registry", ref}
		}
		if _, err := run(t, e, "cosign", verify(filepath.Join(keys, "cosign.pub"))...); err == nil {
			t.Fatal("cosign verify succeeds before the index is signed")
		}
		mustRun(t, e, "cosign", "sign", "--key", filepath.Join(keys, "cosign.key"), "--yes",
			"--use-signing-config=false", "--tlog-upload=false",
			"--allow-http-registry", "--allow-insecure-registry", ref)

		var payloads []struct {
			Critical struct {
				Image struct {
					Digest string `json:"docker-manifest-digest"`
				} `json:"image"`
			} `json:"critical"`
		}
		mustJSON(t, []byte(mustRun(t, e, "cosign", verify(filepath.Join(keys, "cosign.pub"))...)), &payloads)
		if len(payloads) == 0 {
			t.Fatal("cosign verify printed no verified payload")
		}
		for _, p := range payloads {
			if p.Critical.Image.Digest != indexDigest {
				t.Errorf("cosign verified a signature of %s, want %s", p.Critical.Image.Digest, indexDigest)
			}
		}
		if out, err := run(t, e, "cosign", verify(filepath.Join(otherKeys, "cosign.pub"))...); err == nil {
			t.Errorf("cosign verify with another key succeeds:\n%s", out)
		}
		if refs := reg.referrers(t, indexDigest, mediaBundle); len(refs) != 1 {
			t.Errorf("referrers of the index with artifactType %s: %d, want 1 (cosign's bundle)", mediaBundle, len(refs))
		}
	})

	t.Run("run", func(t *testing.T) {
		runImage(t, reg, tools, work, indexDigest, platforms)
	})
}

// checkPlatform checks one platform's manifest, config and layers, and
// returns the binary its entrypoint names.
func checkPlatform(t *testing.T, reg *registry, platform string, machine elf.Machine, desc descriptor, commit string, epoch int64) []byte {
	t.Helper()
	goos, goarch, _ := strings.Cut(platform, "/")
	if desc.MediaType != mediaManifest {
		t.Errorf("%s is a %q, want an OCI image manifest", platform, desc.MediaType)
	}
	var m manifest
	mustJSON(t, reg.get(t, "/v2/"+repo+"/manifests/"+desc.Digest, mediaManifest), &m)
	var cfg imageConfig
	mustJSON(t, reg.get(t, "/v2/"+repo+"/blobs/"+m.Config.Digest, ""), &cfg)

	if cfg.OS != goos || cfg.Architecture != goarch {
		t.Errorf("config platform %s/%s, want %s", cfg.OS, cfg.Architecture, platform)
	}
	c := cfg.Config
	if c.User != fmt.Sprintf("%d:%d", nonroot, nonroot) {
		t.Errorf("config user %q, want %d:%d", c.User, nonroot, nonroot)
	}
	if _, ok := c.Volumes["/data"]; !ok || len(c.Volumes) != 1 {
		t.Errorf("config volumes %v, want just /data", keys(c.Volumes))
	}
	if _, ok := c.ExposedPorts["5000/tcp"]; !ok {
		t.Errorf("config exposes %v, want 5000/tcp", keys(c.ExposedPorts))
	}
	for _, kv := range []string{"BERTH_ADDR=0.0.0.0:5000", "BERTH_DATA_DIR=/data"} {
		if !slices.Contains(c.Env, kv) {
			t.Errorf("config env %q lacks %s", c.Env, kv)
		}
	}
	if len(c.Entrypoint) != 1 || !strings.HasPrefix(c.Entrypoint[0], "/") {
		t.Fatalf("config entrypoint %q, want one absolute path", c.Entrypoint)
	}
	wantAnnotations(t, "config labels", c.Labels, commit)
	if want := time.Unix(epoch, 0).UTC().Format(time.RFC3339); cfg.Created != want {
		t.Errorf("config created %q, want the commit time %s", cfg.Created, want)
	}
	if len(m.Layers) != len(cfg.RootFS.DiffIDs) {
		t.Fatalf("%d layers, %d diff_ids", len(m.Layers), len(cfg.RootFS.DiffIDs))
	}

	// Every entry of every layer (a later layer's entry wins), and the
	// contents of the few files checked below.
	entries := map[string]*tar.Header{}
	contents := map[string][]byte{}
	binPath := strings.TrimPrefix(c.Entrypoint[0], "/")
	keep := []string{"etc/passwd", "etc/group", "etc/ssl/certs/ca-certificates.crt", binPath}
	for i, l := range m.Layers {
		if l.MediaType != "application/vnd.oci.image.layer.v1.tar+gzip" {
			t.Errorf("layer %s is a %q", l.Digest, l.MediaType)
		}
		zr, err := gzip.NewReader(bytes.NewReader(reg.get(t, "/v2/"+repo+"/blobs/"+l.Digest, "")))
		if err != nil {
			t.Fatalf("layer %s: %v", l.Digest, err)
		}
		diff := sha256.New()
		src := io.TeeReader(zr, diff)
		tr := tar.NewReader(src)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("layer %s: %v", l.Digest, err)
			}
			name := strings.TrimSuffix(strings.TrimPrefix(h.Name, "./"), "/")
			entries[name] = h
			if slices.Contains(keep, name) {
				if contents[name], err = io.ReadAll(tr); err != nil {
					t.Fatal(err)
				}
			}
		}
		if _, err := io.Copy(io.Discard, src); err != nil { // the tar's end padding
			t.Fatal(err)
		}
		if got := "sha256:" + hex.EncodeToString(diff.Sum(nil)); got != cfg.RootFS.DiffIDs[i] {
			t.Errorf("layer %d's diff_id is %s, the config says %s", i, got, cfg.RootFS.DiffIDs[i])
		}
	}

	// Owners and modes: the server writes only under /data, which belongs
	// to the nonroot user; everything else is root's and writable by no
	// one else but /tmp (sticky). Every time is the commit's.
	for _, name := range keys(entries) {
		h := entries[name]
		if h.ModTime.Unix() != epoch {
			t.Errorf("%s: time %s, want the commit time %s", name, h.ModTime.UTC(), time.Unix(epoch, 0).UTC())
		}
		switch {
		case name == "data" || strings.HasPrefix(name, "data/"):
			if h.Uid != nonroot || h.Gid != nonroot {
				t.Errorf("/%s is owned by %d:%d, want %d:%d: the server writes there", name, h.Uid, h.Gid, nonroot, nonroot)
			}
		case h.Uid != 0 || h.Gid != 0:
			t.Errorf("/%s is owned by %d:%d outside /data, want root's (read-only to the server)", name, h.Uid, h.Gid)
		case name != "tmp" && h.Mode&0o022 != 0:
			t.Errorf("/%s has mode %o: writable by group or others", name, h.Mode)
		}
	}
	if h := entries["data"]; h == nil || h.Typeflag != tar.TypeDir || h.Mode&0o700 != 0o700 {
		t.Errorf("/data is %+v, want a directory its owner can write", h)
	}
	if h := entries["tmp"]; h == nil || h.Typeflag != tar.TypeDir || h.Mode&0o7777 != 0o1777 {
		t.Errorf("/tmp is %+v, want a directory with mode 1777", h)
	}
	if !bytes.Contains(contents["etc/passwd"], []byte(fmt.Sprintf("\nnonroot:x:%d:%d:", nonroot, nonroot))) {
		t.Errorf("/etc/passwd has no nonroot user %d:\n%s", nonroot, contents["etc/passwd"])
	}
	if !bytes.Contains(contents["etc/group"], []byte(fmt.Sprintf("\nnonroot:x:%d:", nonroot))) {
		t.Errorf("/etc/group has no nonroot group %d:\n%s", nonroot, contents["etc/group"])
	}
	if !x509.NewCertPool().AppendCertsFromPEM(contents["etc/ssl/certs/ca-certificates.crt"]) {
		t.Error("/etc/ssl/certs/ca-certificates.crt holds no certificate")
	}

	// The binary: an executable ELF file for the platform's machine,
	// statically linked, built by Go from the commit without cgo.
	bin := contents[binPath]
	if h := entries[binPath]; h == nil || h.Typeflag != tar.TypeReg || h.Mode&0o111 != 0o111 {
		t.Fatalf("the entrypoint /%s is %+v, want an executable file", binPath, h)
	}
	f, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		t.Fatalf("/%s: %v", binPath, err)
	}
	if f.Machine != machine || f.Class != elf.ELFCLASS64 || f.Type != elf.ET_EXEC {
		t.Errorf("/%s is an ELF %s %s %s, want %s ELFCLASS64 ET_EXEC", binPath, f.Class, f.Type, f.Machine, machine)
	}
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			t.Errorf("/%s asks for a dynamic loader; want a static binary", binPath)
		}
	}
	bi, err := buildinfo.Read(bytes.NewReader(bin))
	if err != nil {
		t.Fatalf("/%s: %v", binPath, err)
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	want := map[string]string{"GOOS": goos, "GOARCH": goarch, "CGO_ENABLED": "0", "-trimpath": "true",
		"vcs.revision": commit, "vcs.modified": "false"}
	for k, v := range want {
		if settings[k] != v {
			t.Errorf("/%s was built with %s=%q, want %q", binPath, k, settings[k], v)
		}
	}
	if bi.Path != mainPackage {
		t.Errorf("/%s is %s, want %s", binPath, bi.Path, mainPackage)
	}
	return bin
}

// cycloneDX is the part of a CycloneDX SBOM the test reads.
type cycloneDX struct {
	BOMFormat string `json:"bomFormat"`
	Metadata  struct {
		Component  component `json:"component"`
		Properties []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"properties"`
	} `json:"metadata"`
	Components []component `json:"components"`
}

type component struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	PURL    string `json:"purl"`
}

// checkSBOM checks that the SBOM at path describes bin: its hash, its
// platform and every module Go recorded in it.
func checkSBOM(t *testing.T, path, platform string, bin []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var bom cycloneDX
	mustJSON(t, b, &bom)
	if bom.BOMFormat != "CycloneDX" {
		t.Fatalf("%s: bomFormat %q", path, bom.BOMFormat)
	}
	goos, goarch, _ := strings.Cut(platform, "/")
	qualifiers := "goarch=" + goarch + "&goos=" + goos
	props := map[string]string{}
	for _, p := range bom.Metadata.Properties {
		props[p.Name] = p.Value
	}
	sum := sha256.Sum256(bin)
	if got := props["cdx:gomod:binary:hash:SHA-256"]; got != hex.EncodeToString(sum[:]) {
		t.Errorf("%s describes a binary with SHA-256 %q, the image's is %x", path, got, sum)
	}
	if props["cdx:gomod:build:env:GOARCH"] != goarch || props["cdx:gomod:build:env:GOOS"] != goos {
		t.Errorf("%s describes a build for %s/%s, want %s", path,
			props["cdx:gomod:build:env:GOOS"], props["cdx:gomod:build:env:GOARCH"], platform)
	}
	top := bom.Metadata.Component
	if top.Name != mainModule || !strings.Contains(top.PURL, qualifiers) {
		t.Errorf("%s: main component %+v, want %s for %s", path, top, mainModule, platform)
	}
	listed := map[string]bool{}
	var other []string
	for _, c := range bom.Components {
		listed[c.Name+"@"+c.Version] = true
		if !strings.Contains(c.PURL, qualifiers) {
			other = append(other, c.PURL)
		}
	}
	if len(other) > 0 {
		t.Errorf("%s: %d of %d components have package URLs for another platform than %s, e.g. %s",
			path, len(other), len(bom.Components), platform, other[0])
	}
	bi, err := buildinfo.Read(bytes.NewReader(bin))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range bi.Deps {
		if d.Replace != nil {
			d = d.Replace
		}
		if !listed[d.Path+"@"+d.Version] {
			t.Errorf("%s does not list %s@%s, a module linked into the binary", path, d.Path, d.Version)
		}
	}
	if !listed["std@"+bi.GoVersion] {
		t.Errorf("%s does not list the standard library %s", path, bi.GoVersion)
	}
}

// runImage runs the image for the host's architecture under containerd
// with a read-only root filesystem, /data bound to a directory of the
// test's and a tmpfs at /tmp, and checks that it answers /readyz as the
// nonroot user, takes a push and writes only into /data.
func runImage(t *testing.T, reg *registry, tools, work, indexDigest string, platforms map[string]descriptor) {
	addr, ctr := os.Getenv("BERTH_CONTAINERD_ADDR"), os.Getenv("BERTH_CTR")
	if addr == "" || ctr == "" {
		t.Skip("not running the image: BERTH_CONTAINERD_ADDR is unset; run under scripts/containerd.sh (scripts/image-check.sh does as root)")
	}
	if os.Geteuid() != 0 {
		t.Skipf("not running the image: ctr run needs root to create the container's namespaces and mounts, and this test runs as uid %d", os.Geteuid())
	}
	platform := "linux/" + runtime.GOARCH
	if _, ok := platforms[platform]; !ok {
		t.Skipf("not running the image: it has no %s platform for this host", platform)
	}

	ns := "berth-image-test-" + strconv.Itoa(os.Getpid())
	ctrRun := func(timeout time.Duration, args ...string) (string, error) {
		return run(t, runner{timeout: timeout}, ctr, append([]string{"--address", addr, "--namespace", ns}, args...)...)
	}
	must := func(args ...string) string {
		t.Helper()
		out, err := ctrRun(5*time.Minute, args...)
		if err != nil {
			t.Fatalf("ctr %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	image := reg.host + "/" + repo + "@" + indexDigest
	must("images", "pull", "--plain-http", "--platform", platform, image)
	t.Cleanup(func() { _, _ = ctrRun(time.Minute, "images", "rm", image) })

	// /data: a directory of the test's, owned by the nonroot user as a
	// volume of the image's would be.
	data := mkdir(t, work, "container-data")
	if err := os.Chown(data, nonroot, nonroot); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	logFile := filepath.Join(work, "container.log")
	id := "berth-image-test"
	must("run", "--detach", "--read-only", "--net-host", "--log-uri", "file://"+logFile,
		"--env", "BERTH_ADDR=127.0.0.1:"+port, "--env", "BERTH_AUTH_DISABLED=true",
		"--mount", "type=bind,src="+data+",dst=/data,options=rbind:rw",
		"--mount", "type=tmpfs,src=tmpfs,dst=/tmp,options=nosuid:nodev:mode=1777",
		image, id)
	t.Cleanup(func() {
		_, _ = ctrRun(time.Minute, "task", "kill", "--signal", "SIGTERM", id)
		eventually.True(t, "the container to stop after SIGTERM", func() bool {
			out, _ := ctrRun(time.Minute, "task", "ls")
			return !strings.Contains(out, "RUNNING")
		})
		_, _ = ctrRun(time.Minute, "task", "rm", "--force", id)
		_, _ = ctrRun(time.Minute, "containers", "rm", id)
		if t.Failed() {
			b, _ := os.ReadFile(logFile)
			t.Logf("container log:\n%s", b)
		}
	})

	base := "http://127.0.0.1:" + port
	if err := waitReady(t, base+"/readyz", nil); err != nil {
		out, _ := ctrRun(time.Minute, "task", "ls")
		t.Fatalf("the container never answered /readyz: %v\ntasks:\n%s", err, out)
	}

	// The process runs as the nonroot user, on a read-only root.
	var pid string
	for _, line := range strings.Split(must("task", "ls"), "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == id {
			pid = f[1]
		}
	}
	status, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		t.Fatalf("the container's process %q: %v", pid, err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && (k == "Uid" || k == "Gid") {
			for _, n := range strings.Fields(v) {
				if n != strconv.Itoa(nonroot) {
					t.Errorf("the container's process has %s %s, want %d everywhere", k, strings.TrimSpace(v), nonroot)
					break
				}
			}
		}
	}
	var info struct {
		Spec struct {
			Root struct {
				Readonly bool `json:"readonly"`
			} `json:"root"`
			Process struct {
				User struct {
					UID int `json:"uid"`
					GID int `json:"gid"`
				} `json:"user"`
			} `json:"process"`
		} `json:"Spec"`
	}
	mustJSON(t, []byte(must("containers", "info", id)), &info)
	if !info.Spec.Root.Readonly || info.Spec.Process.User.UID != nonroot || info.Spec.Process.User.GID != nonroot {
		t.Errorf("the container's spec has a read-only root %v and user %d:%d, want true and %d:%d",
			info.Spec.Root.Readonly, info.Spec.Process.User.UID, info.Spec.Process.User.GID, nonroot, nonroot)
	}

	// It takes a push, and what it writes lands in /data, as its user.
	e := newClientEnv(t, tools)
	e.dir = mkdir(t, work, "probe")
	if err := os.WriteFile(filepath.Join(e.dir, "hello.txt"), []byte("hello from the image test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustRun(t, e, "oras", "push", "--plain-http", "127.0.0.1:"+port+"/probe/hello:1", "hello.txt:text/plain")
	var files int
	var others []string
	err = filepath.WalkDir(data, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != nonroot || int(st.Gid) != nonroot {
			others = append(others, fmt.Sprintf("%s (%d:%d)", path, st.Uid, st.Gid))
		}
		if fi.Mode().IsRegular() {
			files++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(others) > 0 {
		t.Errorf("%d entries in the /data volume are not owned by %d:%d, e.g. %s", len(others), nonroot, nonroot, others[0])
	}
	if files == 0 {
		t.Error("the containerized server wrote nothing into /data")
	}
	if !t.Failed() {
		t.Logf("ran %s as %d:%d on a read-only root: /readyz answered, a push wrote %d files into /data", platform, nonroot, nonroot, files)
	}
}

// wantAnnotations checks the OCI annotations (or labels) scripts/image.sh
// sets on the index and in each config.
func wantAnnotations(t *testing.T, what string, got map[string]string, commit string) {
	t.Helper()
	want := map[string]string{
		"org.opencontainers.image.source":   "https://" + mainModule,
		"org.opencontainers.image.revision": commit,
		"org.opencontainers.image.title":    "berth-registry",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s=%q, want %q", what, k, got[k], v)
		}
	}
	for _, k := range []string{"org.opencontainers.image.version", "org.opencontainers.image.created"} {
		if got[k] == "" {
			t.Errorf("%s: no %s", what, k)
		}
	}
}

// ociIndex, descriptor and manifest are the parts of OCI image indexes
// and manifests the test reads.
type ociIndex struct {
	MediaType   string            `json:"mediaType"`
	Manifests   []descriptor      `json:"manifests"`
	Annotations map[string]string `json:"annotations"`
}

type descriptor struct {
	MediaType    string `json:"mediaType"`
	Digest       string `json:"digest"`
	Size         int64  `json:"size"`
	ArtifactType string `json:"artifactType"`
	Platform     *struct {
		OS           string `json:"os"`
		Architecture string `json:"architecture"`
		Variant      string `json:"variant"`
	} `json:"platform"`
}

type manifest struct {
	MediaType    string       `json:"mediaType"`
	ArtifactType string       `json:"artifactType"`
	Config       descriptor   `json:"config"`
	Layers       []descriptor `json:"layers"`
	Subject      *descriptor  `json:"subject"`
}

// imageConfig is the part of an OCI image configuration the test reads.
type imageConfig struct {
	OS           string `json:"os"`
	Architecture string `json:"architecture"`
	Created      string `json:"created"`
	Config       struct {
		User         string              `json:"User"`
		Env          []string            `json:"Env"`
		Entrypoint   []string            `json:"Entrypoint"`
		WorkingDir   string              `json:"WorkingDir"`
		ExposedPorts map[string]struct{} `json:"ExposedPorts"`
		Volumes      map[string]struct{} `json:"Volumes"`
		Labels       map[string]string   `json:"Labels"`
	} `json:"config"`
	RootFS struct {
		DiffIDs []string `json:"diff_ids"`
	} `json:"rootfs"`
}

// registry is the Berth the test started, read through plain HTTP.
type registry struct {
	host   string
	client *http.Client
}

// get returns the body of a 200 answer to GET path, or fails the test;
// it checks that a blob's or manifest's bytes match the digest in path.
func (r *registry) get(t *testing.T, path, accept string) []byte {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+r.host+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s\n%s", path, resp.Status, b)
	}
	if i := strings.LastIndex(path, "/sha256:"); i >= 0 && !strings.Contains(path, "/referrers/") {
		if want := path[i+1:]; digestOf(b) != want {
			t.Fatalf("GET %s: the body's digest is %s", path, digestOf(b))
		}
	}
	return b
}

// referrers lists the referrers of digest with artifactType through the
// referrers API.
func (r *registry) referrers(t *testing.T, digest, artifactType string) []descriptor {
	t.Helper()
	var idx ociIndex
	mustJSON(t, r.get(t, "/v2/"+repo+"/referrers/"+digest+"?artifactType="+url.QueryEscape(artifactType), mediaIndex), &idx)
	var out []descriptor
	for _, d := range idx.Manifests {
		if d.ArtifactType == artifactType { // a registry may ignore the filter
			out = append(out, d)
		}
	}
	return out
}

// startBerth builds ./examples/registry and runs it on a free loopback
// port with a fresh data directory and auth off, until the test ends.
func startBerth(t *testing.T, root, work string) *registry {
	t.Helper()
	bin := filepath.Join(work, "registry")
	mustRun(t, runner{dir: root, timeout: 20 * time.Minute}, "go", "build", "-o", bin, "./examples/registry")
	host := "127.0.0.1:" + freePort(t)
	logFile := filepath.Join(work, "berth.log")
	logW, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-addr", host, "-data", filepath.Join(work, "berth-data"))
	cmd.Env = append(filterEnv(os.Environ(), "BERTH_"), "BERTH_AUTH_DISABLED=true")
	cmd.Stdout, cmd.Stderr = logW, logW
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		logW.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logFile)
			t.Logf("Berth's log:\n%s", tail(b, 50))
		}
	})
	if err := waitReady(t, "http://"+host+"/readyz", exited); err != nil {
		b, _ := os.ReadFile(logFile)
		t.Fatalf("Berth on %s: %v\n%s", host, err, b)
	}
	return &registry{host: host, client: &http.Client{Timeout: time.Minute}}
}

// waitReady waits until url answers 200 (eventually's bound), or until
// exited is closed: then it is an error.
func waitReady(t *testing.T, url string, exited <-chan struct{}) error {
	t.Helper()
	client := http.Client{Timeout: 2 * time.Second}
	gone := false
	eventually.True(t, url+" to answer 200", func() bool {
		select {
		case <-exited:
			gone = true
			return true
		default:
		}
		resp, err := client.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	if gone {
		return errors.New("the server exited")
	}
	return nil
}

// runner says how to run a command: in dir, with env (nil: this process's)
// plus extra, within timeout (2 minutes when zero).
type runner struct {
	dir     string
	env     []string
	extra   []string
	timeout time.Duration
	tools   string
}

// newClientEnv is a runner for the client tools in dir tools, with HOME,
// DOCKER_CONFIG, XDG_* and TUF_ROOT in temp dirs so that no global client
// configuration is read or written.
func newClientEnv(t *testing.T, tools string) runner {
	t.Helper()
	base := t.TempDir()
	set := map[string]string{"HOME": "home", "DOCKER_CONFIG": "docker", "XDG_CONFIG_HOME": "config",
		"XDG_CACHE_HOME": "cache", "XDG_DATA_HOME": "data", "TUF_ROOT": "tuf"}
	var extra, names []string
	for k, d := range set {
		extra = append(extra, k+"="+mkdir(t, base, d))
		names = append(names, k)
	}
	extra = append(extra, "NO_COLOR=1", "TERM=dumb")
	env := filterEnv(os.Environ(), append(names, "COSIGN_", "SIGSTORE_")...)
	return runner{dir: base, env: env, extra: extra, tools: tools}
}

// run runs name with args and returns its combined output.
func run(t *testing.T, r runner, name string, args ...string) (string, error) {
	t.Helper()
	if r.tools != "" && !strings.Contains(name, "/") {
		name = filepath.Join(r.tools, name)
	}
	timeout := r.timeout
	if timeout == 0 {
		timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = r.dir
	if r.env != nil || r.extra != nil {
		env := r.env
		if env == nil {
			env = os.Environ()
		}
		cmd.Env = append(slices.Clip(env), r.extra...)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("%w (timed out after %s)", err, timeout)
	}
	if err != nil {
		return stdout.String() + stderr.String(), err
	}
	return stdout.String(), nil
}

// mustRun is run that fails the test when the command fails; it returns
// the command's stdout.
func mustRun(t *testing.T, r runner, name string, args ...string) string {
	t.Helper()
	out, err := run(t, r, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, tail([]byte(out), 80))
	}
	return out
}

// repoRoot is the repository's top directory (two levels up).
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "scripts", "image.sh")); err != nil {
		t.Fatal(err)
	}
	return root
}

// toolsDir is BERTH_TOOLS, or .tools/bin; it fails the test when a tool
// the test drives is missing.
func toolsDir(t *testing.T, root string) string {
	t.Helper()
	dir := os.Getenv("BERTH_TOOLS")
	if dir == "" {
		dir = filepath.Join(root, ".tools", "bin")
	}
	for _, tool := range []string{"oras", "cosign"} {
		if _, err := os.Stat(filepath.Join(dir, tool)); err != nil {
			t.Fatalf("%s: %v (scripts/tools.sh oras cosign installs them)", tool, err)
		}
	}
	return dir
}

// filterEnv returns env without the variables named in drop; a name
// ending in "_" drops every variable with that prefix.
func filterEnv(env []string, drop ...string) []string {
	var out []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if !slices.ContainsFunc(drop, func(d string) bool {
			return k == d || strings.HasSuffix(d, "_") && strings.HasPrefix(k, d)
		}) {
			out = append(out, kv)
		}
	}
	return out
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

func mkdir(t *testing.T, parent, name string) string {
	t.Helper()
	dir := filepath.Join(parent, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func mustJSON(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%v in:\n%s", err, tail(b, 40))
	}
}

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// keys returns m's keys, sorted.
func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// tail returns the last n lines of b.
func tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
