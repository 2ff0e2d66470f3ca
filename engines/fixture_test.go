package engines

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

// fixture is what an engine's run finds in the registry, put there with
// crane and cosign as the admin: a private project with an image and a
// two-platform index, and a project with content trust holding a signed
// and an unsigned image, which a robot may only pull.
type fixture struct {
	private  string // project
	single   *image // private/app:single
	multi    *index // private/app:multi, amd64 and arm64
	trusted  string // project with content trust
	signed   *image // trusted/app:signed, signed with the project's key
	unsigned *image // trusted/app:unsigned
	robot    string // may only pull from trusted
	secret   string
}

// tools runs crane and cosign against reg as the admin.
type tools struct {
	reg *registry
	env []string
	dir string
}

func newTools(t *testing.T, reg *registry) *tools {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"home", "docker", "tuf"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	dockerConfig(t, filepath.Join(dir, "docker"), reg.addr, adminUser, adminPassword)
	env := append(environ("HOME=", "TUF_ROOT="), "HOME="+filepath.Join(dir, "home"),
		"DOCKER_CONFIG="+filepath.Join(dir, "docker"), "TUF_ROOT="+filepath.Join(dir, "tuf"))
	if reg.https {
		// Go's clients (crane, cosign) trust exactly the test's CA.
		env = append(env, "SSL_CERT_FILE="+reg.caFile)
	}
	return &tools{reg: reg, env: env, dir: dir}
}

func (tl *tools) crane(t *testing.T, args ...string) string {
	t.Helper()
	if !tl.reg.https {
		args = append(args, "--insecure")
	}
	return must(t, command{bin: mustTool(t, "crane"), args: args, env: tl.env, dir: tl.dir})
}

func (tl *tools) cosign(t *testing.T, password string, args ...string) string {
	t.Helper()
	return must(t, command{bin: mustTool(t, "cosign"), args: args, env: append(tl.env, "COSIGN_PASSWORD="+password), dir: tl.dir})
}

func (tl *tools) ref(repo, suffix string) string { return tl.reg.addr + "/" + repo + suffix }

// pushImage pushes img as repo:tag and checks the registry holds it
// under its digest.
func (tl *tools) pushImage(t *testing.T, img *image, repo, tag string) {
	t.Helper()
	tl.crane(t, "push", writeLayout(t, img), tl.ref(repo, ":"+tag))
	if got, _ := tl.reg.manifest(t, repo, tag); got != img.digest {
		t.Fatalf("crane pushed %s:%s as %s, want %s", repo, tag, got, img.digest)
	}
}

func newFixture(t *testing.T, reg *registry, engine string) *fixture {
	t.Helper()
	tl := newTools(t, reg)
	fx := &fixture{
		private: engine + "-private-" + randHex(3),
		trusted: engine + "-trusted-" + randHex(3),
		single:  newImage(t, "amd64"),
		multi:   newIndex(t, newImage(t, "amd64"), newImage(t, "arm64")),
	}
	fx.signed, fx.unsigned = newImage(t, "amd64"), newImage(t, "amd64")
	reg.project(t, fx.private, false)
	reg.project(t, fx.trusted, false)

	app := fx.private + "/app"
	tl.pushImage(t, fx.single, app, "single")
	tl.crane(t, "push", "--index", writeIndexLayout(t, fx.multi), tl.ref(app, ":multi"))
	if got, _ := reg.manifest(t, app, "multi"); got != fx.multi.digest {
		t.Fatalf("crane pushed the index as %s, want %s", got, fx.multi.digest)
	}

	trusted := fx.trusted + "/app"
	tl.pushImage(t, fx.signed, trusted, "signed")
	tl.pushImage(t, fx.unsigned, trusted, "unsigned")
	password := "berth-" + randHex(4)
	tl.cosign(t, password, "generate-key-pair")
	args := []string{"sign", "--key", filepath.Join(tl.dir, "cosign.key"), "--yes",
		"--use-signing-config=false", "--tlog-upload=false"}
	if !reg.https {
		args = append(args, "--allow-http-registry", "--allow-insecure-registry")
	}
	tl.cosign(t, password, append(args, tl.ref(trusted, "@"+fx.signed.digest))...)
	pub, err := os.ReadFile(filepath.Join(tl.dir, "cosign.pub"))
	if err != nil {
		t.Fatal(err)
	}
	reg.api(t, "PUT", "/projects/"+fx.trusted+"/trust", map[string]any{"enabled": true, "keys": []string{string(pub)}}, http.StatusOK)
	fx.robot, fx.secret = reg.pullRobot(t, fx.trusted)
	return fx
}
