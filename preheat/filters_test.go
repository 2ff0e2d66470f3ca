package preheat_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/berthreg/berth/preheat"
)

// TestFilters runs manual executions of policies with each of Harbor's
// filters over one project and checks what they preheat: images only
// (not a Helm chart, not a cosign signature tag), one task per digest,
// only the policy's project, and each filter's selection, unscanned
// artifacts left out by the vulnerability filter.
func TestFilters(t *testing.T) {
	r := newRig(t, true)
	r.fake.set(func(f *fakeP2P) { f.running = 0 })
	in := r.instance("df")
	v1 := r.push("team/app", "", "v1")
	v2 := r.push("team/app", "", "v2", "latest") // two tags, one digest
	r.push("team/app", helmConfig, "chart")      // not an image
	r.push("team/app", "", "sha256-"+strings.Repeat("a", 64)+".sig")
	web := r.push("team/web", "", "v1")
	cli := r.push("team/tools/cli", "", "v1.2")
	r.push("pub/app", "", "v1") // another project
	r.push("teamwork/app", "", "v1")

	r.label("team/app", v1, "prod")
	r.label("team/web", web, "prod")
	r.label("team/web", web, "edge")
	r.arts.mu.Lock()
	r.arts.signed["team/app@"+v2.String()] = true
	r.arts.signed["team/tools/cli@"+cli.String()] = true
	r.arts.mu.Unlock()
	r.scanned("team/app", v1, "Medium")
	r.scanned("team/app", v2, "High")
	r.scanned("team/web", web, "None")
	// team/tools/cli is not scanned.

	for i, c := range []struct {
		name    string
		filters preheat.Filters
		want    []string
	}{
		{"everything", preheat.Filters{}, []string{"team/app:latest", "team/app:v1", "team/tools/cli:v1.2", "team/web:v1"}},
		{"repository", preheat.Filters{Repository: "app"}, []string{"team/app:latest", "team/app:v1"}},
		{"nested repository", preheat.Filters{Repository: "tools/**"}, []string{"team/tools/cli:v1.2"}},
		{"repository alternatives", preheat.Filters{Repository: "{web,tools/*}"}, []string{"team/tools/cli:v1.2", "team/web:v1"}},
		{"tag", preheat.Filters{Tag: "v?"}, []string{"team/app:v1", "team/app:v2", "team/web:v1"}},
		{"label", preheat.Filters{Labels: []string{"prod"}}, []string{"team/app:v1", "team/web:v1"}},
		{"labels", preheat.Filters{Labels: []string{"prod", "edge"}}, []string{"team/web:v1"}},
		{"signature", preheat.Filters{Signature: true}, []string{"team/app:latest", "team/tools/cli:v1.2"}},
		{"vulnerability", preheat.Filters{Vulnerability: "High"}, []string{"team/app:v1", "team/web:v1"}},
		{"vulnerability medium", preheat.Filters{Vulnerability: "Medium"}, []string{"team/web:v1"}},
		{"all together", preheat.Filters{Repository: "**", Tag: "v*", Labels: []string{"prod"}, Vulnerability: "Critical"},
			[]string{"team/app:v1", "team/web:v1"}},
		{"signed but vulnerable", preheat.Filters{Repository: "app", Signature: true, Vulnerability: "High"}, nil},
		{"signed, vulnerable below the bar", preheat.Filters{Repository: "app", Signature: true, Vulnerability: "Critical"}, []string{"team/app:latest"}},
	} {
		name := fmt.Sprintf("f%02d", i)
		r.policy(preheat.Policy{Name: name, ProviderID: in.ID, Filters: c.filters})
		exec, err := r.svc.Start(t.Context(), alice, "team", name)
		must(t, err)
		e := r.finished(name, exec.ID)
		var got []string
		for _, task := range r.tasks(name, exec.ID) {
			got = append(got, task.Repository+":"+task.Tag)
		}
		slices.Sort(got)
		if !slices.Equal(got, c.want) || e.Status != preheat.RunSuccess || e.Metrics.Total != len(c.want) || e.Metrics.Success != len(c.want) {
			t.Errorf("%s: preheated %v (%s, %+v), want %v", c.name, got, e.Status, e.Metrics, c.want)
		}
		if len(c.want) == 0 && e.StatusMessage != "no artifacts to preheat" {
			t.Errorf("%s: status message %q", c.name, e.StatusMessage)
		}
	}
}

// TestFilterNames: the name filters alone, as the event trigger applies
// them: the repository pattern matches the name inside the project, the
// tag pattern the tag, and attachment tags never pass.
func TestFilterNames(t *testing.T) {
	f := preheat.Filters{Repository: "app*", Tag: "v*"}
	for _, c := range []struct {
		repo, tag string
		want      bool
	}{
		{"team/app", "v1", true},
		{"team/app-web", "v2.0", true},
		{"team/app", "latest", false},
		{"team/web", "v1", false},
		{"team/sub/app", "v1", false},
		{"other/app", "v1", false},
		{"teamx/app", "v1", false},
		{"team/app", "", false},
		{"team/app", "sha256-" + strings.Repeat("b", 64) + ".sig", false},
	} {
		if got := f.Names("team", c.repo, c.tag); got != c.want {
			t.Errorf("Names(team, %s, %s) = %v, want %v", c.repo, c.tag, got, c.want)
		}
	}
	if !(preheat.Filters{}).Names("team", "team/a/b/c", "x") {
		t.Error("empty patterns must select everything of the project")
	}
}
