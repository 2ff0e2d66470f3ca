package quota

import "math/rand/v2"

// shardPool hands out the parts of usage counters: while a part is out,
// no other transaction of this process gets it, so concurrent pushes of
// one instance into one project write different parts. The order is
// shuffled per process, so that instances sharing a database start on
// different parts. When every part is out, a transaction takes one at
// random and may share it.
type shardPool struct {
	n    int
	free chan int
}

func newShardPool(n int) *shardPool {
	p := &shardPool{n: n, free: make(chan int, n)}
	for _, i := range rand.Perm(n) {
		p.free <- i
	}
	return p
}

// get returns a part, and whether it must be given back with put.
func (p *shardPool) get() (int, bool) {
	select {
	case i := <-p.free:
		return i, true
	default:
		return rand.IntN(p.n), false
	}
}

// put gives back a part get returned with true.
func (p *shardPool) put(i int) { p.free <- i }

// partLease is the usage part one transaction adds to: taken from the
// pool when the transaction first counts something (most transactions
// count nothing and take none), kept across its retries, given back when
// it ends.
type partLease struct {
	pool         *shardPool
	i            int
	taken, owned bool
}

// fixedPart is a lease of part i, not from a pool.
func fixedPart(i int) *partLease { return &partLease{i: i, taken: true} }

// index returns the leased part, taking one first if need be.
func (l *partLease) index() int {
	if !l.taken {
		l.i, l.owned = l.pool.get()
		l.taken = true
	}
	return l.i
}

// release gives the part back to the pool.
func (l *partLease) release() {
	if l.owned {
		l.pool.put(l.i)
		l.owned = false
	}
}
