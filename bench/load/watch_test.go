package main

import (
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"testing"
)

func TestParsePIDs(t *testing.T) {
	got, err := parsePIDs("12, 34,,56")
	if err != nil || !slices.Equal(got, []int{12, 34, 56}) {
		t.Fatalf("parsePIDs = %v, %v", got, err)
	}
	for _, bad := range []string{"x", "1,-2", "0"} {
		if _, err := parsePIDs(bad); err == nil {
			t.Errorf("parsePIDs(%q) succeeded", bad)
		}
	}
}

// TestTreeCPUCountsReapedChildren checks that the CPU of a child that ran
// and was waited for counts in its parent's tree: PostgreSQL backends
// that end must not take their CPU with them.
func TestTreeCPUCountsReapedChildren(t *testing.T) {
	self, err := readProcStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// A child that burns CPU until it has used at least 0.2 s of it, as
	// the kernel counts it (not wall time).
	cmd := exec.Command("sh", "-c", `while :; do
		set -- $(cut -d' ' -f14-17 /proc/$$/stat)
		[ $(($1 + $2 + $3 + $4)) -ge 20 ] && exit 0
	done`)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v: %s", err, out)
	}
	tree, err := treeCPU([]int{os.Getpid()})
	if err != nil {
		t.Fatal(err)
	}
	after, err := readProcStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if grown := after.childCPU - self.childCPU; grown < 0.2 {
		t.Fatalf("children's CPU grew by %.2fs, want ≥ 0.2s", grown)
	}
	if tree < after.childCPU {
		t.Fatalf("tree CPU %.2fs leaves out the reaped child's %.2fs", tree, after.childCPU)
	}
	if _, err := treeCPU([]int{os.Getpid(), 1 << 30}); err == nil {
		t.Fatal("treeCPU of a missing root succeeded")
	}
}

func TestParseChallenge(t *testing.T) {
	got := parseChallenge(`realm="http://h:5000/service/token",service="berth", scope="repository:a/b:pull,push"`)
	want := map[string]string{"realm": "http://h:5000/service/token", "service": "berth", "scope": "repository:a/b:pull,push"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	a := newAuthorizer("u", "p", http.DefaultClient)
	if err := a.learn(http.Header{"Www-Authenticate": {`Bearer realm="http://h/t",service="s"`}}); err != nil || a.scheme != "bearer" || a.realm != "http://h/t" {
		t.Fatalf("learn bearer: %v %+v", err, a)
	}
	if err := a.learn(http.Header{"Www-Authenticate": {`Bearer service="s"`}}); err == nil {
		t.Fatal("a bearer challenge without realm was accepted")
	}
	if err := a.learn(http.Header{"Www-Authenticate": {`Basic realm="x"`}}); err != nil || a.scheme != "basic" {
		t.Fatalf("learn basic: %v", err)
	}
}

func TestScopes(t *testing.T) {
	for raw, want := range map[string][]string{
		"http://h/v2/":              nil,
		"http://h/v2/_catalog?n=10": {"registry:catalog:*"},
		"http://h/v2/p/r/blobs/uploads/?digest=sha256:00":     {"repository:p/r:pull,push"},
		"http://h/v2/p/r/manifests/latest":                    {"repository:p/r:pull,push"},
		"http://h/v2/p/a/b/tags/list?n=1":                     {"repository:p/a/b:pull,push"},
		"http://h/v2/p/tags/tags/list?n=1":                    {"repository:p/tags:pull,push"},
		"http://h/v2/p/tags/blobs/uploads/":                   {"repository:p/tags:pull,push"},
		"http://h/v2/p/blobs/manifests/v1":                    {"repository:p/blobs:pull,push"},
		"http://h/v2/p/dst/blobs/uploads/?mount=x&from=p/src": {"repository:p/dst:pull,push", "repository:p/src:pull"},
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := scopes(u); !slices.Equal(got, want) {
			t.Errorf("scopes(%s) = %q, want %q", raw, got, want)
		}
	}
}

func TestCheckPage(t *testing.T) {
	if err := checkPage([]string{tagName(4), tagName(5)}, 3, 6, 100); err != nil {
		t.Fatal(err)
	}
	if err := checkPage(nil, 5, 6, 100); err != nil {
		t.Fatalf("the page after the last tag: %v", err)
	}
	if err := checkPage([]string{tagName(4)}, 3, 6, 100); err == nil {
		t.Fatal("a short page passed")
	}
	if err := checkPage([]string{tagName(5), tagName(4)}, 3, 6, 100); err == nil {
		t.Fatal("a page out of order passed")
	}
}

func TestParseLogErrors(t *testing.T) {
	log := `2026-12-04 22:11:07.992 UTC [3611] bt1 ERROR:  could not serialize access due to concurrent update
2026-12-04 22:11:07.992 UTC [3611] bt1 STATEMENT:  
			WITH ins AS (
				INSERT INTO repositories (name) VALUES ($1)
			) SELECT 1
2026-12-04 22:11:08.100 UTC [3612] bt1 WARNING:  something else
2026-12-04 22:11:10.091 UTC [3614] bt1 ERROR:  could not serialize access due to read/write dependencies among transactions
2026-12-04 22:11:10.091 UTC [3614] bt1 DETAIL:  Reason code: Canceled on identification as a pivot, during conflict in checking.
2026-12-04 22:11:10.091 UTC [3614] bt1 HINT:  The transaction might succeed if retried.
2026-12-04 22:11:10.091 UTC [3614] bt1 STATEMENT:  COMMIT
2026-12-04 22:11:11.000 UTC [3615] bt1 ERROR:  deadlock detected
`
	got := parseLogErrors(log)
	if len(got) != 3 {
		t.Fatalf("got %d errors, want 3: %+v", len(got), got)
	}
	if got[0].Query != "WITH ins AS ( INSERT INTO repositories (name) VALUES ($1) ) SELECT 1" {
		t.Errorf("first statement = %q", got[0].Query)
	}
	if got[1].Query != "COMMIT" || got[1].Message != "could not serialize access due to read/write dependencies among transactions" {
		t.Errorf("second = %+v", got[1])
	}
	if got[2].Message != "deadlock detected" || got[2].Query != "" {
		t.Errorf("third = %+v", got[2])
	}
}
