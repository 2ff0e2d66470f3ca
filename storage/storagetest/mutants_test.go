package storagetest_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/berthreg/berth/storage"
	"github.com/berthreg/berth/storage/storagetest"
)

// envMutant selects the bug TestMutantChild runs the suite against.
const envMutant = "BERTH_STORAGETEST_MUTANT"

// mutants maps each deliberate bug to the subtest that must catch it. Every
// subtest of the suite appears at least once.
var mutants = []struct{ kind, subtest string }{
	{"commit-no-flush", "RoundTrip"},
	{"overwrite-keeps-tail", "Overwrite"},
	{"empty-not-stored", "ZeroByte"},
	{"reader-ignores-offset", "ReaderOffsets"},
	{"reader-past-end", "ReaderOffsets"},
	{"stat-no-dirs", "Stat"},
	{"resume-restarts", "ResumableWriter"},
	{"readfrom-ignores-limit", "CopyFromFile"},
	{"resume-appends", "ResumeDiscardsTail"},
	{"resume-unchecked", "ResumeInvalidOffset"},
	{"close-commits", "CloseWithoutCommit"},
	{"ghost-dirs", "CloseWithoutCommit"},
	{"cancel-keeps", "Cancel"},
	{"write-after-commit", "WriterClosed"},
	{"list-unsorted", "List"},
	{"list-nested", "List"},
	{"ghost-dirs", "List"},
	{"list-ignores-after", "ListPaging"},
	{"list-missing-nil", "ListMissing"},
	{"walk-per-directory-order", "Walk"},
	{"walk-ignores-error", "WalkStop"},
	{"walk-missing-error", "WalkMissing"},
	{"walk-exclusive", "WalkDelete"},
	{"move-copies", "Move"},
	{"ghost-dirs", "Move"},
	{"move-no-replace", "MoveReplaces"},
	{"move-missing-nil", "MoveMissing"},
	{"ghost-dirs", "Delete"},
	{"delete-object-only", "DeleteDirectory"},
	{"delete-missing-nil", "DeleteMissing"},
	{"generic-notfound", "NotFound"},
	{"cleans-paths", "InvalidPath"},
	{"opener-ignores-seek", "Opener"},
	{"session-drops-tiny-chunk", "Sessions"},
	{"session-visible-early", "Sessions"},
	{"reader-shared-cursor", "ConcurrentReaders"},
	{"writer-shared-buffer", "ConcurrentWriters"},
	{"ghost-dirs", "ConcurrentWriteDelete"},
	{"large-truncates", "LargeStream"},
}

// TestMutantChild runs one subtest of the suite against a buggy driver; it
// only does something when TestMutants starts it in a child process.
func TestMutantChild(t *testing.T) {
	kind := os.Getenv(envMutant)
	if kind == "" {
		t.Skip("run by TestMutants")
	}
	storagetest.Run(t, func(t *testing.T) storage.Driver { return newMutant(kind) })
}

// TestMutants checks that the suite fails each deliberately broken driver in
// the subtest meant to catch the bug, and passes the unbroken wrapper.
func TestMutants(t *testing.T) {
	if os.Getenv(envMutant) != "" {
		t.Skip("inside a child")
	}
	run := func(t *testing.T, kind, subtest string, short bool) (string, error) {
		args := []string{"-test.run=^TestMutantChild$/^" + subtest + "$", "-test.count=1", "-test.timeout=2m"}
		if short {
			args = append(args, "-test.short")
		}
		cmd := exec.CommandContext(t.Context(), os.Args[0], args...)
		cmd.Env = append(os.Environ(), envMutant+"="+kind)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	t.Run("control", func(t *testing.T) {
		t.Parallel()
		if out, err := run(t, "none", ".*", true); err != nil {
			t.Fatalf("the suite fails the memory driver behind the mutant wrapper: %v\n%s", err, out)
		}
	})
	covered := map[string]bool{}
	for _, mc := range mutants {
		covered[mc.subtest] = true
		t.Run(mc.kind+"/"+mc.subtest, func(t *testing.T) {
			large := mc.subtest == "LargeStream"
			if large && testing.Short() {
				t.Skip("streams 256 MiB")
			}
			t.Parallel()
			out, err := run(t, mc.kind, mc.subtest, !large)
			if err == nil {
				t.Fatalf("the suite passed a driver with bug %q\n%s", mc.kind, out)
			}
			if !strings.Contains(out, "--- FAIL: TestMutantChild/"+mc.subtest) {
				t.Fatalf("bug %q was not caught by subtest %s:\n%s", mc.kind, mc.subtest, out)
			}
		})
	}
	// Every subtest the suite runs must have a mutant.
	for _, name := range suiteSubtests(t) {
		if !covered[name] {
			t.Errorf("subtest %s has no mutant proving it can fail", name)
		}
	}
}

// suiteSubtests lists the subtests of the suite by running the control child
// verbosely.
func suiteSubtests(t *testing.T) []string {
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestMutantChild$", "-test.count=1", "-test.short", "-test.v")
	cmd.Env = append(os.Environ(), envMutant+"=none")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("control run: %v\n%s", err, out)
	}
	var names []string
	for _, line := range strings.Split(string(out), "\n") {
		if _, name, ok := strings.Cut(line, "=== RUN   TestMutantChild/"); ok {
			names = append(names, strings.TrimSpace(name))
		}
	}
	if len(names) < 20 {
		t.Fatalf("found only %d subtests in:\n%s", len(names), out)
	}
	return names
}
