package testdragonfly

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// proc is one server process of the cluster, its output in a log file.
type proc struct {
	name string
	log  string
	cmd  *exec.Cmd
	done chan struct{} // closed when it has exited
	err  error         // Wait's, once done is closed
}

// exited reports whether p has exited.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM, waits up to ten seconds, then SIGKILLs.
func (p *proc) stop() {
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// tail returns the last n lines of p's log.
func (p *proc) tail(n int) string {
	b, err := os.ReadFile(p.log)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// logHas reports whether p's log holds every one of subs on one line.
func (p *proc) logHas(subs ...string) bool {
	b, err := os.ReadFile(p.log)
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		all := true
		for _, s := range subs {
			if !strings.Contains(line, s) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

// run starts bin with args inside the namespace, its output in
// dir/<name>.log, stopped when the test ends.
func (d *Dragonfly) run(t testing.TB, name, bin string, args ...string) *proc {
	t.Helper()
	logPath := filepath.Join(d.dir, name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatalf("testdragonfly: %s log: %v", name, err)
	}
	defer f.Close() // the child has its own copy
	cmd := exec.Command(bin, args...)
	cmd.Dir = d.dir
	cmd.Stdout = f
	cmd.Stderr = f
	cmd.SysProcAttr = procAttr()
	p := &proc{name: name, log: logPath, cmd: cmd, done: make(chan struct{})}
	if err := d.ns.start(cmd); err != nil {
		t.Fatalf("testdragonfly: start %s: %v", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	d.procs = append(d.procs, p)
	t.Cleanup(p.stop)
	return p
}

// errExited says a process of the cluster exited while the test waited.
var errExited = errors.New("testdragonfly: a process exited")

// alive returns an error naming the first process that has exited.
func (d *Dragonfly) alive() error {
	for _, p := range d.procs {
		if p.exited() {
			return fmt.Errorf("%w: %s (%v)", errExited, p.name, p.err)
		}
	}
	return nil
}

// printTails logs the last lines of every process's log.
func (d *Dragonfly) printTails(t testing.TB) {
	for _, p := range d.procs {
		t.Logf("---- %s log %s (last %d lines) ----\n%s", p.name, p.log, tailLines, p.tail(tailLines))
	}
}

const tailLines = 40
