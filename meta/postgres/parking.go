package postgres

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// parked is a connection whose last transaction, a View's, is still
// open: read-only, it has nothing to commit, and the next transaction on
// the connection sends its COMMIT in one round trip with its own BEGIN
// and first statement. since is when the View parked it.
type parked struct {
	conn  *pgxpool.Conn
	since time.Time
}

// parking holds the parked connections of a Store, acquired from its
// pool. A View so costs one round trip per statement, not one more for
// its COMMIT. An open read-only transaction holds no xid: it holds back
// no other transaction's snapshot (nor the event log's horizon), only
// vacuum's, for at most the linger (WithParkLinger), after which the
// store ends it.
//
// Parked connections count against the pool. Transactions take a parked
// connection before asking the pool; one that finds the pool exhausted
// also waits for a connection to be parked (handed over at once), so
// that parking never keeps a connection from a transaction that waits.
type parking struct {
	linger time.Duration // 0: no parking
	mu     sync.Mutex
	conns  []parked // oldest first
	closed bool
	timer  *time.Timer
	// waiters are the transactions waiting for a connection of the
	// exhausted pool, first come first; each channel has room for one.
	waiters []chan parked
}

func newParking(linger time.Duration) *parking {
	return &parking{linger: max(linger, 0)}
}

// take returns the most recently parked connection, if any.
func (p *parking) take() (parked, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pop()
}

func (p *parking) pop() (parked, bool) {
	n := len(p.conns)
	if n == 0 {
		return parked{}, false
	}
	c := p.conns[n-1]
	p.conns = p.conns[:n-1]
	return c, true
}

// wait returns a parked connection, or, when there is none, a channel on
// which the next connection parked is handed over; the caller must call
// unwait with it when it stops waiting.
func (p *parking) wait() (parked, bool, chan parked) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.pop(); ok {
		return c, true, nil
	}
	ch := make(chan parked, 1)
	p.waiters = append(p.waiters, ch)
	return parked{}, false, ch
}

// unwait ends a wait; it returns the connection handed over meanwhile,
// if any.
func (p *parking) unwait(ch chan parked) (parked, bool) {
	p.mu.Lock()
	for i, w := range p.waiters {
		if w == ch {
			p.waiters = append(p.waiters[:i], p.waiters[i+1:]...)
			break
		}
	}
	p.mu.Unlock()
	select {
	case c := <-ch:
		return c, true
	default:
		return parked{}, false
	}
}

// park hands c to a waiting transaction, or keeps it until taken or
// until it has lingered. It reports false when the parking is closed or
// parks nothing: the caller ends the transaction and releases c.
func (p *parking) park(c parked) bool {
	if p.linger == 0 {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	if len(p.waiters) > 0 {
		p.waiters[0] <- c
		p.waiters = p.waiters[1:]
		return true
	}
	p.conns = append(p.conns, c)
	if p.timer == nil {
		p.timer = time.AfterFunc(p.linger, p.sweep)
	}
	return true
}

// sweep ends the transactions of the connections parked a linger ago or
// earlier, and releases them.
func (p *parking) sweep() {
	p.mu.Lock()
	now := time.Now()
	n := 0
	for n < len(p.conns) && now.Sub(p.conns[n].since) >= p.linger {
		n++
	}
	old := append([]parked(nil), p.conns[:n]...)
	p.conns = append(p.conns[:0], p.conns[n:]...)
	p.timer = nil
	if len(p.conns) > 0 {
		p.timer = time.AfterFunc(p.linger-now.Sub(p.conns[0].since), p.sweep)
	}
	p.mu.Unlock()
	for _, c := range old {
		endParked(c.conn)
	}
}

// close ends every parked connection's transaction and releases it; later
// parks fail.
func (p *parking) close() {
	p.mu.Lock()
	p.closed = true
	all := p.conns
	p.conns = nil
	if p.timer != nil {
		p.timer.Stop()
	}
	p.mu.Unlock()
	for _, c := range all {
		endParked(c.conn)
	}
}

// endParked ends the open read-only transaction of conn and releases it
// to the pool (which closes it when that failed).
func endParked(conn *pgxpool.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := conn.Exec(ctx, "COMMIT"); err != nil {
		_ = conn.Conn().Close(ctx)
	}
	conn.Release()
}
