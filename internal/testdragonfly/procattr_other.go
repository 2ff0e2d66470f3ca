//go:build !linux

package testdragonfly

import "syscall"

// procAttr: nothing to add where no server is started (see netns).
func procAttr() *syscall.SysProcAttr { return nil }
