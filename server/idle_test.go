package server

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// clockTicks is the unit of /proc/<pid>/stat's CPU times (USER_HZ, 100 on
// every Linux architecture Go supports).
const clockTicks = 100

// cpuTime returns the CPU time (user + system) process pid has used, read
// from /proc.
func cpuTime(t *testing.T, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	// The command name may hold spaces: the fields start after its ')'.
	fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	// utime and stime are fields 14 and 15 of the line, 12 and 13 here.
	ut, err1 := strconv.ParseInt(fields[11], 10, 64)
	st, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("/proc/%d/stat: %q", pid, b)
	}
	return time.Duration(ut+st) * time.Second / clockTicks
}

// TestIdleServerUsesNoCPU: after pushes, an idle server's CPU time stays
// near zero. The job runner's wake used to circulate among its idle
// workers for ever after the first enqueue: a whole core, idle.
func TestIdleServerUsesNoCPU(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server binary")
	}
	bin := childBinary(t)
	srv := startServer(t, bin, t.TempDir(), freeAddr(t))
	for i := range 3 {
		img, err := random.Image(1024, 2)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := name.ParseReference(srv.addr+"/library/app:v"+strconv.Itoa(i), name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref, img); err != nil {
			t.Fatal(err)
		}
	}
	// Let the pushes' consumers (webhook dispatch, replication and scan
	// triggers, their job wakes) finish, then measure a quiet spell. What
	// is asserted is CPU time used, not time passed: a busy machine only
	// lowers it.
	time.Sleep(time.Second)
	pid := srv.cmd.Process.Pid
	before := cpuTime(t, pid)
	time.Sleep(3 * time.Second)
	if used := cpuTime(t, pid) - before; used > 300*time.Millisecond {
		t.Errorf("the idle server used %v of CPU in 3 s", used)
	}
}
