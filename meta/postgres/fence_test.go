package postgres_test

import (
	"os/exec"
	"strings"
	"testing"
)

// pgxImporters are the packages allowed to compile in pgx and
// golang-migrate: this one, the test helpers (testdragonfly gives
// Dragonfly's manager a database of testpg's), and what offers PostgreSQL
// to operators (the server's metadata.driver, the example server and the
// test helper that starts one, the metadata copy command), and the load tool, which reads PostgreSQL's
// statement statistics around its measurements. The registry, the API and every feature
// package stay free of it.
var pgxImporters = []string{
	"github.com/berthreg/berth/meta/postgres",
	"github.com/berthreg/berth/internal/testpg",
	"github.com/berthreg/berth/internal/testdragonfly",
	"github.com/berthreg/berth/internal/teststores",
	"github.com/berthreg/berth/server",
	"github.com/berthreg/berth/internal/testserver",
	"github.com/berthreg/berth/examples/registry",
	"github.com/berthreg/berth/examples/platform",
	"github.com/berthreg/berth/cmd/berth-metacopy",
	"github.com/berthreg/berth/bench/load",
}

// TestPgxStaysInItsPackages fails when a package of the module other than
// pgxImporters starts compiling in pgx or golang-migrate: a host that
// keeps its metadata in bbolt, or in a store of its own, must not pay for
// a PostgreSQL driver.
func TestPgxStaysInItsPackages(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`,
		"github.com/berthreg/berth/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	checked := 0
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		pkg, deps := fields[0], fields[1:]
		checked++
		allowed := false
		for _, a := range pgxImporters {
			allowed = allowed || pkg == a
		}
		if allowed {
			continue
		}
		for _, d := range deps {
			if strings.HasPrefix(d, "github.com/jackc/") || strings.HasPrefix(d, "github.com/golang-migrate/") {
				t.Errorf("%s depends on %s", pkg, d)
				break
			}
		}
	}
	if checked < 50 {
		t.Fatalf("go list returned %d packages: the pattern matched too little", checked)
	}
}
