//go:build linux

package testdragonfly

import "syscall"

// procAttr puts each server in a process group of its own and has the
// kernel kill it if the test process dies without its cleanups.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
