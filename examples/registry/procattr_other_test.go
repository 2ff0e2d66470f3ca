//go:build !linux

package main

import "syscall"

// childAttr is nil where the kernel offers no parent-death signal; the
// tests' cleanups still kill their children.
func childAttr() *syscall.SysProcAttr { return nil }
