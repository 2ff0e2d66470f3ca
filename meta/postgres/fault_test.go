package postgres_test

import (
	"errors"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berthreg/berth/internal/testpg"
	"github.com/berthreg/berth/meta"
)

// EnvFaults opts in to TestServerKilledAndRestarted, which kills the
// server of scripts/postgres.sh: the tests of other packages sharing that
// server would fail meanwhile, so it runs only where the Makefile gives
// meta/postgres a server of its own.
const EnvFaults = "BERTH_TEST_POSTGRES_FAULTS"

// TestServerKilledAndRestarted kills the server with SIGKILL, sees the
// store answer meta.ErrUnavailable, starts the server again on the same
// port and data, and sees the same store work again, with what was
// committed before the crash.
func TestServerKilledAndRestarted(t *testing.T) {
	if os.Getenv("BERTH_POSTGRES_PID") == "" {
		t.Skip("BERTH_POSTGRES_PID is not set: run under scripts/postgres.sh")
	}
	if os.Getenv(EnvFaults) != "1" {
		t.Skipf("%s=1 is not set: this test kills the shared server (make postgres sets it)", EnvFaults)
	}
	s := testpg.Open(t)
	ensure := func(name string) error {
		return s.Update(t.Context(), func(tx meta.Tx) error { _, _, err := tx.Repositories().Ensure(name); return err })
	}
	if err := ensure("before"); err != nil {
		t.Fatal(err)
	}

	data := os.Getenv("BERTH_POSTGRES_DATA")
	pid := postmasterPID(t, data) // the script's, or one a previous run started
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 %d: %v", pid, err)
	}
	// Backends exit when they notice their postmaster is gone; until then
	// one may still answer. Wait for the store to say unavailable.
	var err error
	until(t, "the store reports the dead server", func() bool {
		err = ensure("during")
		return errors.Is(err, meta.ErrUnavailable)
	})
	t.Logf("with the server killed: %v", err)
	if err := s.View(t.Context(), func(tx meta.Tx) error { _, err := tx.Repositories().Get("before"); return err }); !errors.Is(err, meta.ErrUnavailable) {
		t.Errorf("View with the server killed: %v, want meta.ErrUnavailable", err)
	}

	restart(t, data)
	until(t, "the same store works again", func() bool { return ensure("after") == nil })
	if err := s.View(t.Context(), func(tx meta.Tx) error {
		for _, name := range []string{"before", "after"} {
			if _, err := tx.Repositories().Get(name); err != nil {
				t.Errorf("repository %q after the restart: %v", name, err)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// postmasterPID reads the pid of the server that owns data.
func postmasterPID(t *testing.T, data string) int {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(data, "postmaster.pid"))
	if err != nil {
		t.Fatalf("postmaster.pid: %v", err)
	}
	pid, err := strconv.Atoi(strings.SplitN(string(raw), "\n", 2)[0])
	if err != nil {
		t.Fatalf("postmaster.pid: %v", err)
	}
	return pid
}

// restart starts the server again on its data (its postgresql.conf has
// the port) as BERTH_POSTGRES_USER, the way scripts/postgres.sh documents,
// retrying while the killed server's backends still hold its shared
// memory. The server outlives the test; the script stops it.
func restart(t *testing.T, data string) {
	t.Helper()
	logf, err := os.OpenFile(filepath.Join(filepath.Dir(data), "restart.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	var cred *syscall.Credential
	if name := os.Getenv("BERTH_POSTGRES_USER"); name != "" {
		u, err := user.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	deadline := time.Now().Add(settleWait)
	for {
		cmd := exec.Command(os.Getenv("BERTH_POSTGRES_BIN"), "-D", data)
		// Its own session, and not our stdout: go test waits for the
		// test binary's output to close.
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Credential: cred}
		if err := cmd.Start(); err != nil {
			t.Fatalf("restart: %v", err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		// Up once it has written its pid file with the new pid and is
		// accepting connections ("ready" on the pid file's last line).
		for {
			select {
			case err := <-exited:
				t.Logf("restart: the server exited (%v), trying again", err)
			default:
				raw, _ := os.ReadFile(filepath.Join(data, "postmaster.pid"))
				lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
				if len(lines) > 0 && lines[0] == strconv.Itoa(cmd.Process.Pid) && strings.TrimSpace(lines[len(lines)-1]) == "ready" {
					t.Logf("restarted the server as pid %d", cmd.Process.Pid)
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("the server did not come back in %v", settleWait)
				}
				time.Sleep(10 * time.Millisecond)
				continue
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server did not come back in %v", settleWait)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
