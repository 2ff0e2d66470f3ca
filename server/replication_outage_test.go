package server

import (
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/berthreg/berth/internal/eventually"
)

// TestReplicationCatchesUpAfterOutage: an event-based push policy; the
// destination (a server in its own process) is killed, 20
// images are pushed, the destination comes back on the same data: every
// push arrives, each by exactly one task that copied its manifest once.
func TestReplicationCatchesUpAfterOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills servers")
	}
	bin := childBinary(t)
	bDir, bAddr := t.TempDir(), freeAddr(t)
	b := startServer(t, bin, bDir, bAddr) // open: no credentials needed
	a := startSite(t, nil)
	a.must("POST", "/projects", `{"project_name":"team"}`, 201)
	a.endpoint("b", bAddr, false)
	a.must("POST", "/replication/policies", `{"name":"live","dest_registry":{"name":"b"},"filters":[{"type":"name","value":"team/**"}],
		"trigger":{"type":"event_based"},"enabled":true}`, 201)
	// One push while b is up: event-based replication works.
	first := a.push(t, "team/app:first", 1024)
	bs := siteAt(t, bAddr)
	eventually.True(t, "the first push at b", func() bool { return bs.digest(t, "team/app:first") == first.String() })
	// b has the tag once it stored the manifest, which can be before the
	// task heard its answer: kill b only once the task has recorded its
	// success, else the task retries after the outage and finds the
	// manifest there already (copied, but not by the attempt that counts).
	var before []execution
	if err := json.Unmarshal([]byte(a.must("GET", "/replication/executions?policy_name=live&page_size=100", "", 200)), &before); err != nil {
		t.Fatal(err)
	}
	for _, e := range before {
		if e, _ := a.wait(t, fmt.Sprintf("/replication/executions/%d", e.ID)); e.Status != "Succeed" {
			t.Fatalf("the first push's execution: %+v", e)
		}
	}

	b.kill()
	want := map[string]string{}
	for i := range 20 {
		tag := fmt.Sprintf("t%02d", i)
		want[tag] = a.push(t, "team/app:"+tag, 2048).String()
	}
	// Tasks fail while b is down (each failure is logged for retry).
	eventually.True(t, "a failed attempt while b is down", func() bool {
		var es []execution
		_ = json.Unmarshal([]byte(a.must("GET", "/replication/executions?policy_name=live&page_size=100", "", 200)), &es)
		for _, e := range es {
			var ts []task
			_ = json.Unmarshal([]byte(a.must("GET", fmt.Sprintf("/replication/executions/%d/tasks", e.ID), "", 200)), &ts)
			for _, tk := range ts {
				if tk.Attempts > 1 {
					return true
				}
			}
		}
		return false
	})
	startServer(t, bin, bDir, bAddr)
	eventually.True(t, "all 20 pushes at b", func() bool {
		for tag, d := range want {
			if bs.digest(t, "team/app:"+tag) != d {
				return false
			}
		}
		return true
	})

	// One task per pushed tag, each succeeded, each manifest copied once.
	var es []execution
	if err := json.Unmarshal([]byte(a.must("GET", "/replication/executions?policy_name=live&page_size=100", "", 200)), &es); err != nil {
		t.Fatal(err)
	}
	perTag := map[string]int{}
	copied := 0
	for _, e := range es {
		e, ts := a.wait(t, fmt.Sprintf("/replication/executions/%d", e.ID))
		if e.Status != "Succeed" || e.Trigger != "event_based" {
			t.Errorf("execution %+v", e)
		}
		copied += e.Artifacts
		for _, tk := range ts {
			perTag[tk.SrcResource]++
		}
	}
	if len(perTag) != 21 || copied != 21 {
		t.Errorf("%d tags replicated by tasks, %d manifests copied; want 21 and 21 (%v)", len(perTag), copied, perTag)
	}
	for tag, n := range perTag {
		if n != 1 {
			t.Errorf("%s replicated by %d tasks", tag, n)
		}
	}
}

// TestReplicationResumesAfterSourceKilled: the source server (its own
// process) is SIGKILLed in the middle of a rate-limited execution; after
// a restart the execution resumes and completes, and every digest at the
// destination is the source's.
func TestReplicationResumesAfterSourceKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills servers")
	}
	bin := childBinary(t)
	b := startSite(t, nil)
	b.must("POST", "/projects", `{"project_name":"team"}`, 201)
	aDir, aAddr := t.TempDir(), freeAddr(t)
	env := []string{"BERTH_AUTH_DISABLED=false", "BERTH_ADMIN_PASSWORD=" + sitePassword, "BERTH_JOB_LEASE=2s",
		"BERTH_REPLICATION_BACKOFF=100ms", "BERTH_REPLICATION_MAX_BACKOFF=1s", "BERTH_REPLICATION_CONCURRENCY=2"}
	a := startServer(t, bin, aDir, aAddr, env...)
	as := siteAt(t, aAddr)
	as.must("POST", "/projects", `{"project_name":"team"}`, 201)
	want := map[string]string{}
	for i := range 12 {
		img, _ := random.Image(256<<10, 1)
		tag := fmt.Sprintf("v%02d", i)
		if err := remote.Write(as.ref(t, "team/app:"+tag), img, as.auth); err != nil {
			t.Fatal(err)
		}
		d, _ := img.Digest()
		want[tag] = d.String()
	}
	as.endpoint("b", b.host, true)
	// 256 KiB/s per task, two tasks at a time: about six seconds in all.
	as.must("POST", "/replication/policies", `{"name":"slow","dest_registry":{"name":"b"},"speed":256,"trigger":{"type":"manual"},"enabled":true}`, 201)
	code, body, loc := as.post(t, "/replication/executions", `{"policy_name":"slow"}`)
	if code != 201 {
		t.Fatalf("start: %d %s", code, body)
	}
	path := loc[len("/api/v2.0"):]
	// The kill lands while a task copies: two are done and one started
	// less than half a second ago (each takes about one at this speed).
	var before atomic.Int32
	eventually.True(t, "some tasks done, one copying", func() bool {
		var e execution
		_ = json.Unmarshal([]byte(as.must("GET", path, "", 200)), &e)
		before.Store(int32(e.Succeed))
		if e.Succeed < 2 {
			return false
		}
		var ts []task
		_ = json.Unmarshal([]byte(as.must("GET", path+"/tasks?page_size=100", "", 200)), &ts)
		for _, tk := range ts {
			if tk.Status == "InProgress" && time.Since(tk.StartTime) < 500*time.Millisecond {
				return true
			}
		}
		return false
	})
	a.kill()
	if n := before.Load(); n >= 12 {
		t.Fatalf("the execution finished (%d tasks) before the kill", n)
	}
	startServer(t, bin, aDir, aAddr, env...)
	var e execution
	deadline := time.Now().Add(60 * time.Second)
	for {
		_ = json.Unmarshal([]byte(as.must("GET", path, "", 200)), &e)
		if e.Status != "InProgress" || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if e.Status != "Succeed" || e.Succeed != 12 || e.Total != 12 {
		t.Fatalf("after the restart: %+v", e)
	}
	var ts []task
	if err := json.Unmarshal([]byte(as.must("GET", path+"/tasks?page_size=100", "", 200)), &ts); err != nil {
		t.Fatal(err)
	}
	resumed := 0
	for _, tk := range ts {
		if tk.Attempts > 1 {
			resumed++
		}
	}
	if resumed == 0 {
		t.Errorf("no task was interrupted and run again: %+v", ts)
	}
	for tag, d := range want {
		if got := b.digest(t, "team/app:"+tag, b.auth); got != d {
			t.Errorf("team/app:%s at b is %q, want %s", tag, got, d)
		}
	}
}
