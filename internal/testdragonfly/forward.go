package testdragonfly

import (
	"context"
	"io"
	"net"
	"sync"
)

// forwarder relays the TCP connections a listener accepts to connections
// dial makes: the bridge between the test's network namespace and the
// process's own (the manager's PostgreSQL on the way in, the manager's
// REST API on the way out).
type forwarder struct {
	l    net.Listener
	dial func(ctx context.Context) (net.Conn, error)

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
}

// forward relays what l accepts to dial until close.
func forward(l net.Listener, dial func(ctx context.Context) (net.Conn, error)) *forwarder {
	ctx, cancel := context.WithCancel(context.Background())
	f := &forwarder{l: l, dial: dial, ctx: ctx, cancel: cancel, conns: map[net.Conn]struct{}{}}
	f.wg.Add(1)
	go f.accept()
	return f
}

func (f *forwarder) accept() {
	defer f.wg.Done()
	for {
		c, err := f.l.Accept()
		if err != nil {
			return
		}
		f.wg.Add(1)
		go f.relay(c)
	}
}

func (f *forwarder) relay(in net.Conn) {
	defer f.wg.Done()
	out, err := f.dial(f.ctx)
	if err != nil {
		in.Close()
		return
	}
	if !f.track(in, out) {
		return
	}
	var both sync.WaitGroup
	both.Add(2)
	pipe := func(dst, src net.Conn) {
		defer both.Done()
		_, _ = io.Copy(dst, src)
		// Half-close what TCP allows, so a request-then-EOF client works;
		// the other direction ends on its own.
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		} else {
			dst.Close()
		}
	}
	go pipe(out, in)
	go pipe(in, out)
	both.Wait()
	f.untrack(in, out)
}

// track records in and out for close, or closes them when close has begun.
func (f *forwarder) track(cs ...net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ctx.Err() != nil {
		for _, c := range cs {
			c.Close()
		}
		return false
	}
	for _, c := range cs {
		f.conns[c] = struct{}{}
	}
	return true
}

func (f *forwarder) untrack(cs ...net.Conn) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range cs {
		c.Close()
		delete(f.conns, c)
	}
}

// close stops accepting, cuts every relayed connection and waits for the
// relays to end.
func (f *forwarder) close() {
	f.l.Close()
	f.mu.Lock()
	f.cancel()
	for c := range f.conns {
		c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}
