//go:build !linux

package server

import "syscall"

// childAttr is nil where the kernel offers no parent-death signal; the
// tests' cleanups still kill their children.
func childAttr() *syscall.SysProcAttr { return nil }
