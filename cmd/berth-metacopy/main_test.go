package main_test

import (
	"bytes"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthreg/berth/internal/testpg"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/bolt"
	"github.com/berthreg/berth/meta/metatest"
)

// binary is the command, built once by TestMain.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "berth-metacopy-test")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "berth-metacopy")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		panic("go build: " + err.Error() + "\n" + string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is what a run of the command printed and returned.
type result struct {
	stdout, stderr string
	code           int
}

// run runs the command with args.
func run(t *testing.T, args ...string) result {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), binary, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("run %v: %v", args, err)
	}
	return result{stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()}
}

// want fails the test unless r exited with code and its output holds
// each of the strings.
func (r result) want(t *testing.T, code int, strs ...string) {
	t.Helper()
	out := r.stdout + r.stderr
	t.Logf("output:\n%s", out)
	if r.code != code {
		t.Errorf("exit status %d, want %d; output:\n%s", r.code, code, out)
	}
	for _, s := range strs {
		if !strings.Contains(out, s) {
			t.Errorf("the output lacks %q:\n%s", s, out)
		}
	}
}

// filledBolt returns the path of a closed bbolt file metatest.Fill filled.
func filledBolt(t *testing.T) string {
	path := filepath.Join(t.TempDir(), "source.db")
	s, err := bolt.Open(path, bolt.NoSync())
	if err != nil {
		t.Fatal(err)
	}
	metatest.Fill(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// withBolt runs fn on the bbolt file at path, opened and closed around it.
func withBolt(t *testing.T, path string, fn func(s meta.Store)) {
	t.Helper()
	s, err := bolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fn(s)
}

// TestBoltToPostgresAndBack moves a filled bbolt store to PostgreSQL and
// from there into a new bbolt file, compares the ends, and finds a change
// made after.
func TestBoltToPostgresAndBack(t *testing.T) {
	a := filledBolt(t)
	u, err := url.Parse(testpg.Database(t)) // skips without PostgreSQL
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), "pg-s3cret") // the test server trusts; the password is only shown, or not
	dsn := u.String()

	r := run(t, "-from", "bolt:"+a, "-to", "postgres:"+dsn, "-batch", "7")
	r.want(t, 0, "copied: blobs 6, claims 2, cursors 2, events 6, jobs 5, links 8, manifests 5, records 4, repositories 3,",
		"no differences")
	if strings.Contains(r.stdout+r.stderr, "pg-s3cret") {
		t.Errorf("the output shows the DSN's password:\n%s", r.stdout+r.stderr)
	}

	b := filepath.Join(t.TempDir(), "back.db")
	run(t, "-from", "postgres:"+dsn, "-to", "bolt:"+b).want(t, 0, "copied: ", "no differences")
	run(t, "-compare-only", "-from", "bolt:"+a, "-to", "bolt:"+b).want(t, 0, "no differences")
	withBolt(t, b, func(s meta.Store) {
		err := s.Update(t.Context(), func(tx meta.Tx) error {
			if _, err := tx.Tags().Get("lib/app", "v1"); err != nil {
				return err
			}
			return tx.Tags().Delete("lib/app", "v1")
		})
		if err != nil {
			t.Fatalf("the copy of the copy lacks lib/app:v1: %v", err)
		}
	})
	run(t, "-compare-only", "-from", "bolt:"+a, "-to", "bolt:"+b).
		want(t, 1, "2 differences", `tag "v1" in "lib/app": only in a: sha256:`, `tags of manifest sha256:`)

	// The destination is no longer empty: a second copy is refused, and
	// says what it found.
	r = run(t, "-from", "bolt:"+a, "-to", "postgres:"+dsn)
	r.want(t, 1, "not empty", `repository "empty/repo"`)
	if strings.Contains(r.stderr, "holds part of the source") {
		t.Errorf("a refused copy says it wrote:\n%s", r.stderr)
	}
}

// TestBoltToBolt copies between two bbolt files, without PostgreSQL.
func TestBoltToBolt(t *testing.T) {
	a := filledBolt(t)
	c := filepath.Join(t.TempDir(), "copy.db")
	run(t, "-from", "bolt:"+a, "-to", "bolt:"+c).want(t, 0, "copied: ", "repositories 3", "no differences")
	run(t, "-from", "bolt:"+a, "-to", "bolt:"+c).want(t, 1, "not empty")
	empty := filepath.Join(t.TempDir(), "empty.db")
	withBolt(t, empty, func(meta.Store) {})
	run(t, "-from", "bolt:"+empty, "-to", "bolt:"+filepath.Join(t.TempDir(), "e.db")).
		want(t, 0, "copied: nothing", "no differences")
}

// TestErrors checks that bad flags, bad or unreachable stores and a file
// in use end the command with a clear error and no copy.
func TestErrors(t *testing.T) {
	a := filledBolt(t)
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.db")
	for _, c := range []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"no flags", nil, 2, []string{"-from is required"}},
		{"no -to", []string{"-from", "bolt:" + a}, 2, []string{"-to is required"}},
		{"unknown backend", []string{"-from", "mysql:x", "-to", "bolt:" + missing}, 2, []string{`want bolt:PATH or postgres:DSN`}},
		{"no path", []string{"-from", "bolt:", "-to", "bolt:" + missing}, 2, []string{"needs a file"}},
		{"stray argument", []string{"-from", "bolt:" + a, "-to", "bolt:" + missing, "now"}, 2, []string{"unexpected arguments"}},
		{"zero batch", []string{"-from", "bolt:" + a, "-to", "bolt:" + missing, "-batch", "0"}, 2, []string{"at least 1"}},
		{"same store", []string{"-from", "bolt:" + a, "-to", "bolt:" + filepath.Join(filepath.Dir(a), ".", filepath.Base(a))}, 1,
			[]string{"the same store"}},
		{"missing source", []string{"-from", "bolt:" + missing, "-to", "bolt:" + filepath.Join(dir, "x.db")}, 1,
			[]string{"source bolt:" + missing, "no such file"}},
		{"missing destination to compare", []string{"-compare-only", "-from", "bolt:" + a, "-to", "bolt:" + missing}, 1,
			[]string{"destination bolt:" + missing, "no such file"}},
		{"bad DSN", []string{"-from", "bolt:" + a, "-to", "postgres:host=127.0.0.1 port=notaport password=pw-secret"}, 1,
			[]string{"destination postgres: bad DSN"}},
		{"unreachable server", []string{"-from", "bolt:" + a, "-to", "postgres:postgres://berth:pw-secret@127.0.0.1:1/berth?connect_timeout=5"}, 1,
			[]string{"destination postgres://berth@127.0.0.1:1/berth", meta.ErrUnavailable.Error()}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := run(t, c.args...)
			r.want(t, c.code, c.want...)
			if strings.Contains(r.stdout+r.stderr, "pw-secret") {
				t.Error("the output shows the DSN's password")
			}
		})
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed run created %s: %v", missing, err)
	}
}

// TestFileInUse checks that a bbolt file a running registry holds is
// found, not copied from under it.
func TestFileInUse(t *testing.T) {
	a := filledBolt(t)
	running, err := bolt.Open(a)
	if err != nil {
		t.Fatal(err)
	}
	defer running.Close()
	dst := filepath.Join(t.TempDir(), "copy.db")
	run(t, "-from", "bolt:"+a, "-to", "bolt:"+dst, "-lock-timeout", "100ms").
		want(t, 1, "in use by another process", "stop it first")
	if _, err := os.Stat(dst); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused copy created %s: %v", dst, err)
	}
}
