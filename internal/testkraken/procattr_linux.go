package testkraken

import "syscall"

// procAttr puts a component in a process group of its own, so that stop
// reaches its nginx too, and has it killed if the test binary dies
// without cleaning up (its nginx then outlives it: Kraken asks for no
// such signal for nginx).
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
