package events

import "sync"

// Bell tells waiting consumers that events were appended. The zero value
// is ready; a nil *Bell never rings.
type Bell struct {
	mu sync.Mutex
	ch chan struct{}
}

// Ring wakes everyone waiting on the channel Wait returned.
func (b *Bell) Ring() {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ch != nil {
		close(b.ch)
		b.ch = nil
	}
}

// Wait returns a channel closed at the next Ring.
func (b *Bell) Wait() <-chan struct{} {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ch == nil {
		b.ch = make(chan struct{})
	}
	return b.ch
}
