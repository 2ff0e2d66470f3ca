//go:build linux

package testdragonfly

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"

	"golang.org/x/sys/unix"
)

// netns is a network namespace of its own, made by the test process: only
// a loopback interface, with Addr on it beside 127.0.0.1. The Dragonfly
// processes run in it, and so do the listeners the test puts there.
//
// Why: Dragonfly's manager fetches the manifest of an image preheat
// through a dialer that refuses every address that is not global unicast
// (pkg/net/http/http.go NewSafeDialer, used by manager/job/preheat.go
// GetImageLayers in d7y.io/dragonfly/v2 v2.3.0), so it cannot reach a
// registry on 127.0.0.1. In a namespace of the test's own, a registry
// can listen on such an address without any traffic leaving the
// machine, or even the namespace.
//
// A namespace is per thread in Linux: do runs a function on an OS thread
// that has joined the namespace (sockets and processes made there belong
// to it) and then returns the thread to the process's own namespace.
type netns struct {
	fd   int // the namespace
	home int // the process's own namespace
}

// errNoNetns wraps why a namespace cannot be made (not root, or a
// sandbox without CAP_SYS_ADMIN): the caller skips.
var errNoNetns = errors.New("cannot make a network namespace")

// newNetns makes the namespace: loopback up, with addr/32 on it.
func newNetns(ctx context.Context, addr string) (*netns, error) {
	ip, err := exec.LookPath("ip")
	if err != nil {
		// Debian's /usr/sbin is not on every PATH.
		if _, serr := os.Stat("/usr/sbin/ip"); serr != nil {
			return nil, fmt.Errorf("%w: iproute2's ip not found: %v", errNoNetns, err)
		}
		ip = "/usr/sbin/ip"
	}
	home, err := unix.Open("/proc/self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errNoNetns, err)
	}
	type made struct {
		fd  int
		err error
	}
	ch := make(chan made, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread() // unchanged: the thread may be reused
			ch <- made{-1, fmt.Errorf("%w: unshare(CLONE_NEWNET): %v", errNoNetns, err)}
			return
		}
		fd, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if serr := unix.Setns(home, unix.CLONE_NEWNET); serr != nil {
			// The thread stays locked and ends with this goroutine.
			if err == nil {
				unix.Close(fd)
			}
			ch <- made{-1, fmt.Errorf("return to the process's namespace: %w", serr)}
			return
		}
		runtime.UnlockOSThread()
		ch <- made{fd, err}
	}()
	m := <-ch
	if m.err != nil {
		unix.Close(home)
		return nil, m.err
	}
	n := &netns{fd: m.fd, home: home}
	for _, args := range [][]string{
		{"link", "set", "lo", "up"},
		{"addr", "add", addr + "/32", "dev", "lo"},
	} {
		err := n.do(func() error {
			out, err := exec.CommandContext(ctx, ip, args...).CombinedOutput()
			if err != nil {
				return fmt.Errorf("ip %v: %w: %s", args, err, out)
			}
			return nil
		})
		if err != nil {
			n.close()
			return nil, err
		}
	}
	return n, nil
}

// do runs fn on an OS thread inside the namespace.
func (n *netns) do(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Setns(n.fd, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("join the test's network namespace: %w", err)
			return
		}
		err := fn()
		if serr := unix.Setns(n.home, unix.CLONE_NEWNET); serr != nil {
			// Left locked: Go ends the thread with this goroutine, so no
			// other goroutine ever runs in the namespace.
			errc <- errors.Join(err, fmt.Errorf("return to the process's namespace: %w", serr))
			return
		}
		runtime.UnlockOSThread()
		errc <- err
	}()
	return <-errc
}

// listen listens on addr inside the namespace.
func (n *netns) listen(addr string) (net.Listener, error) {
	var l net.Listener
	err := n.do(func() error {
		var err error
		l, err = net.Listen("tcp", addr)
		return err
	})
	return l, err
}

// dial connects to addr inside the namespace.
func (n *netns) dial(ctx context.Context, addr string) (net.Conn, error) {
	var c net.Conn
	err := n.do(func() error {
		var d net.Dialer
		var err error
		c, err = d.DialContext(ctx, "tcp", addr)
		return err
	})
	return c, err
}

// start starts cmd inside the namespace: the child is forked from a
// thread that is in it. cmd's Stdout and Stderr must be files (or nil),
// so Start makes no copying goroutines.
func (n *netns) start(cmd *exec.Cmd) error {
	return n.do(cmd.Start)
}

func (n *netns) close() {
	unix.Close(n.fd)
	unix.Close(n.home)
}
