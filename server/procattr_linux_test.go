package server

import "syscall"

// childAttr makes a child process die with the test binary, so a test that
// panics or times out leaves no server running.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
