//go:build !linux

package testkraken

import "syscall"

// procAttr puts a component in a process group of its own, so that stop
// reaches its nginx too (Kraken runs on Linux; elsewhere the binaries
// are absent and Start skips before this).
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
