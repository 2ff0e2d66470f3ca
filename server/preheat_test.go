package server

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/berthreg/berth/internal/blobcount"
	"github.com/berthreg/berth/internal/eventually"
	"github.com/berthreg/berth/internal/testkraken"
)

// TestPreheatThroughTheAPIIntoKraken: a Kraken instance and an
// event-based preheat policy made through the admin API, in Harbor's
// shapes; a push to the project runs an execution whose task asks the
// real Kraken (internal/testkraken) to preheat the image, and Kraken's
// origin fetches each of the image's blobs from Berth. Runs under
// scripts/kraken.sh (make preheat); skipped without it.
func TestPreheatThroughTheAPIIntoKraken(t *testing.T) {
	testkraken.Bin(t)
	cfg := testConfig()
	cfg.DataDir = t.TempDir()
	cfg.Auth.AdminPassword = "admin-password"
	cfg.Outbound.Allow = []string{"127.0.0.1"}
	host := serve(t, cfg)
	gets := blobcount.Start(t, host)
	k := testkraken.Start(t, gets.Host, testkraken.WithBasicAuth("admin", "admin-password"))
	must := adminCaller(t, "http://"+host+"/api/v2.0", "admin-password")

	must("POST", "/p2p/preheat/instances", `{"name":"kraken","vendor":"kraken","endpoint":"`+k.ProxyURL+`","auth_mode":"NONE","enabled":true}`, 201)
	var inst struct {
		ID       int64             `json:"id"`
		AuthInfo map[string]string `json:"auth_info"`
	}
	if err := json.Unmarshal([]byte(must("GET", "/p2p/preheat/instances/kraken", "", 200)), &inst); err != nil || inst.ID == 0 {
		t.Fatalf("instance: %+v, %v", inst, err)
	}
	must("POST", "/p2p/preheat/instances/ping", `{"vendor":"kraken","endpoint":"`+k.ProxyURL+`","auth_mode":"NONE"}`, 200)
	policy, _ := json.Marshal(map[string]any{
		"name": "warm", "provider_id": inst.ID, "enabled": true,
		"filters": `[{"type":"repository","value":"app*"},{"type":"tag","value":"v*"}]`,
		"trigger": `{"type":"event_based","trigger_setting":{}}`,
	})
	must("POST", "/projects/library/preheat/policies", string(policy), 201)

	img, err := random.Image(2048, 3) // Docker schema 2: what Kraken parses
	if err != nil {
		t.Fatal(err)
	}
	admin := remote.WithAuth(&authn.Basic{Username: "admin", Password: "admin-password"})
	for _, ref := range []string{"library/app:v1", "library/other:v1", "library/app:latest"} {
		r, _ := name.ParseReference(host+"/"+ref, name.Insecure)
		if err := remote.Write(r, img, admin); err != nil {
			t.Fatal(err)
		}
	}
	type execution struct {
		ID      int64  `json:"id"`
		Status  string `json:"status"`
		Trigger string `json:"trigger"`
		Metrics struct {
			TaskCount    int `json:"task_count"`
			SuccessCount int `json:"success_task_count"`
		} `json:"metrics"`
	}
	var execs []execution
	eventually.True(t, "the push to run the policy to its end", func() bool {
		_ = json.Unmarshal([]byte(must("GET", "/projects/library/preheat/policies/warm/executions", "", 200)), &execs)
		return len(execs) > 0 && execs[0].Status == "Success"
	})
	if len(execs) != 1 || execs[0].Trigger != "EVENT" || execs[0].Metrics.TaskCount != 1 || execs[0].Metrics.SuccessCount != 1 {
		t.Fatalf("executions %+v: want one EVENT run with one task (app:v1; other and latest are filtered out)", execs)
	}
	execPath := "/projects/library/preheat/policies/warm/executions/" + strconv.FormatInt(execs[0].ID, 10)
	var tasks []struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
	}
	if err := json.Unmarshal([]byte(must("GET", execPath+"/tasks", "", 200)), &tasks); err != nil || len(tasks) != 1 || tasks[0].Status != "Success" {
		t.Fatalf("tasks %+v (%v)", tasks, err)
	}
	layers, _ := img.Layers()
	cfgName, _ := img.ConfigName()
	want := []string{cfgName.String()}
	for _, l := range layers {
		d, _ := l.Digest()
		want = append(want, d.String())
	}
	for _, d := range want {
		eventually.True(t, "Kraken's origin to fetch "+d+" from Berth", func() bool { return gets.Of("library/app", d) > 0 })
	}
	if log := must("GET", execPath+"/tasks/"+strconv.FormatInt(tasks[0].ID, 10)+"/logs", "", 200); !strings.Contains(log, "succeeded") {
		t.Errorf("task log:\n%s", log)
	}
}
