//go:build !linux

package testdragonfly

import (
	"context"
	"errors"
	"net"
	"os/exec"
)

// netns is Linux's network namespace; elsewhere there is none, and the
// tests skip.
type netns struct{}

var errNoNetns = errors.New("cannot make a network namespace: network namespaces are Linux's")

func newNetns(context.Context, string) (*netns, error) { return nil, errNoNetns }

func (*netns) listen(string) (net.Listener, error)            { return nil, errNoNetns }
func (*netns) dial(context.Context, string) (net.Conn, error) { return nil, errNoNetns }
func (*netns) start(*exec.Cmd) error                          { return errNoNetns }
func (*netns) close()                                         {}
