package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/berthreg/berth/bench/internal/results"
)

// The PostgreSQL records of a scenario.
type (
	// DBStats is what the database did in a scenario's timed sections.
	DBStats = results.DBStats
	// Statement is one statement's share of that.
	Statement = results.Statement
	// Wait is one kind of wait seen by sampling.
	Wait = results.Wait
	// Failure is one kind of failed statement in PostgreSQL's log.
	Failure = results.Failure
)

// monitorTag marks the monitor's own statements, so that the statement
// figures leave them out.
const monitorTag = "/* berth-load monitor */ "

// topStatements is how many statements a scenario keeps.
const topStatements = 12

// dbMonitor watches the PostgreSQL database the registry uses, through one
// connection of its own: pg_stat_statements read before and after each
// timed section (the difference is the section's), and pg_stat_activity
// sampled during it for backends waiting on a lock. Its backend's CPU is
// known (pgBackendPID), so the server CPU figures can leave it out.
type dbMonitor struct {
	mu       sync.Mutex // one statement at a time on conn
	conn     *pgx.Conn
	backend  int // pg_backend_pid() of conn
	interval time.Duration
	stmts    bool // pg_stat_statements is usable
	logPath  string
}

// newDBMonitor connects to dsn. pg_stat_statements is created in that
// database if it is missing; when the server does not preload it, the
// statement figures are left out (with a warning) and lock sampling goes on.
func newDBMonitor(ctx context.Context, dsn string, interval time.Duration, logPath string) (*dbMonitor, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("-db-dsn: %w", err)
	}
	cfg.RuntimeParams["application_name"] = "berth-load-monitor"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("-db-dsn: %w", err)
	}
	m := &dbMonitor{conn: conn, interval: interval, logPath: logPath}
	if err := conn.QueryRow(ctx, monitorTag+"SELECT pg_backend_pid()").Scan(&m.backend); err != nil {
		_ = conn.Close(ctx)
		return nil, fmt.Errorf("-db-dsn: %w", err)
	}
	if _, err := conn.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"); err != nil {
		logf("warning: no pg_stat_statements (%v); statement figures left out", err)
	} else if _, err := m.statements(ctx); err != nil {
		logf("warning: pg_stat_statements unusable (%v; is it in shared_preload_libraries?); statement figures left out", err)
	} else {
		m.stmts = true
	}
	if logPath != "" {
		if _, err := os.Stat(logPath); err != nil {
			_ = conn.Close(ctx)
			return nil, fmt.Errorf("-db-log: %w", err)
		}
	}
	return m, nil
}

func (m *dbMonitor) close() { _ = m.conn.Close(context.Background()) }

// backendCPU is the CPU seconds of the monitor's own backend, or 0 when
// PostgreSQL runs elsewhere.
func (m *dbMonitor) backendCPU() float64 {
	v, err := procCPU(m.backend)
	if err != nil {
		return 0
	}
	return v
}

// stmtCounters are one statement's cumulative counters.
type stmtCounters struct {
	query  string
	calls  int64
	timeMs float64
	rows   int64
}

// statements reads pg_stat_statements for this database, leaving out the
// monitor's own statements, summed by queryid.
func (m *dbMonitor) statements(ctx context.Context) (map[int64]stmtCounters, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rows, err := m.conn.Query(ctx, monitorTag+`SELECT s.queryid, s.query, s.calls, s.total_exec_time, s.rows
		FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
		WHERE d.datname = current_database() AND s.queryid IS NOT NULL
		AND s.query NOT LIKE '%berth-load monitor%' AND s.query NOT LIKE '%pg_stat_statements%'`)
	if err != nil {
		return nil, err
	}
	out := map[int64]stmtCounters{}
	for rows.Next() {
		var id int64
		var c stmtCounters
		if err := rows.Scan(&id, &c.query, &c.calls, &c.timeMs, &c.rows); err != nil {
			rows.Close()
			return nil, err
		}
		o := out[id]
		o.query, o.calls, o.timeMs, o.rows = c.query, o.calls+c.calls, o.timeMs+c.timeMs, o.rows+c.rows
		out[id] = o
	}
	return out, rows.Err()
}

// waitSample is one sample's backends waiting, keyed by wait event and the
// statement they wait in.
func (m *dbMonitor) waitSample(ctx context.Context) (map[[3]string]int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rows, err := m.conn.Query(ctx, monitorTag+`SELECT wait_event_type, wait_event, left(regexp_replace(query, '\s+', ' ', 'g'), 160)
		FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active'
		AND wait_event_type IN ('Lock', 'LWLock')`)
	if err != nil {
		return nil, err
	}
	out := map[[3]string]int{}
	for rows.Next() {
		var k [3]string
		if err := rows.Scan(&k[0], &k[1], &k[2]); err != nil {
			rows.Close()
			return nil, err
		}
		out[k]++
	}
	return out, rows.Err()
}

// logSize is the PostgreSQL log's size, or -1 without a log.
func (m *dbMonitor) logSize() int64 {
	if m.logPath == "" {
		return -1
	}
	fi, err := os.Stat(m.logPath)
	if err != nil {
		return -1
	}
	return fi.Size()
}

// logErrors reads the log from offset from on: the ERROR lines, and for
// each the message and the statement it failed (the STATEMENT line and
// its continuation lines that follow it).
func (m *dbMonitor) logErrors(from int64) []Failure {
	f, err := os.Open(m.logPath)
	if err != nil {
		return nil
	}
	defer f.Close()
	if _, err := f.Seek(from, io.SeekStart); err != nil {
		return nil
	}
	b, err := io.ReadAll(io.LimitReader(f, 64<<20))
	if err != nil {
		return nil
	}
	return parseLogErrors(string(b))
}

// parseLogErrors finds the ERROR entries of a PostgreSQL log written with
// log_line_prefix '%m [%p] %d ' (every entry starts with a date; its
// continuation lines do not).
func parseLogErrors(log string) []Failure {
	var out []Failure
	cur := -1       // index in out of the last ERROR, until its entry ends
	inStmt := false // collecting that error's statement
	var stmt strings.Builder
	flush := func() {
		if inStmt && cur >= 0 {
			out[cur].Query = oneLine(stmt.String(), 160)
		}
		inStmt = false
		stmt.Reset()
	}
	for line := range strings.SplitSeq(log, "\n") {
		if !entryStart(line) {
			if inStmt {
				stmt.WriteString(" " + line)
			}
			continue
		}
		flush()
		if _, msg, ok := strings.Cut(line, " ERROR:  "); ok {
			out = append(out, Failure{Message: oneLine(msg, 120), Count: 1})
			cur = len(out) - 1
			continue
		}
		if _, st, ok := strings.Cut(line, " STATEMENT:  "); ok && cur >= 0 {
			inStmt = true
			stmt.WriteString(st)
			continue
		}
		if !strings.Contains(line, " DETAIL:  ") && !strings.Contains(line, " HINT:  ") && !strings.Contains(line, " CONTEXT:  ") {
			cur = -1
		}
	}
	flush()
	return out
}

// entryStart tells whether a log line starts an entry: "2026-12-04 ...".
func entryStart(line string) bool {
	return len(line) > 10 && line[4] == '-' && line[7] == '-' && line[0] >= '0' && line[0] <= '9'
}

// dbSection measures one timed section.
type dbSection struct {
	m       *dbMonitor
	before  map[int64]stmtCounters
	logFrom int64
	start   time.Time
	stop    chan struct{}
	done    chan struct{}
	samples int64
	waits   map[[3]string]int
	errs    []error
}

// begin snapshots the counters and starts sampling waits.
func (m *dbMonitor) begin(ctx context.Context) *dbSection {
	s := &dbSection{m: m, logFrom: m.logSize(), stop: make(chan struct{}), done: make(chan struct{}), waits: map[[3]string]int{}}
	if m.stmts {
		var err error
		if s.before, err = m.statements(ctx); err != nil {
			s.errs = append(s.errs, err)
		}
	}
	s.start = time.Now()
	go func() {
		defer close(s.done)
		t := time.NewTicker(m.interval)
		defer t.Stop()
		// The first sample is taken at once, so a section shorter than
		// the interval (or one whose ticks a busy machine delays) still
		// has one.
		for {
			w, err := m.waitSample(ctx)
			if err != nil {
				if ctx.Err() == nil {
					s.errs = append(s.errs, err)
				}
				return
			}
			s.samples++
			for k, n := range w {
				s.waits[k] += n
			}
			select {
			case <-s.stop:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// end stops sampling and adds the section's figures to acc.
func (s *dbSection) end(ctx context.Context, acc *DBStats) error {
	close(s.stop)
	<-s.done
	acc.Samples += s.samples
	acc.SampleIntervalMs = float64(s.m.interval) / float64(time.Millisecond)
	// Each sample stands for an equal share of the section: a sample that
	// took longer than the interval delays the next one.
	weight := 0.0
	if s.samples > 0 {
		weight = time.Since(s.start).Seconds() / float64(s.samples)
	}
	for k, n := range s.waits {
		sec := float64(n) * weight
		if k[0] == "Lock" {
			acc.LockWaitSeconds += sec
		} else {
			acc.LWLockWaitSeconds += sec
		}
		addWait(acc, Wait{Type: k[0], Event: k[1], Query: k[2], Seconds: sec})
	}
	if s.logFrom >= 0 {
		acc.LogCounted = true
		for _, f := range s.m.logErrors(s.logFrom) {
			acc.LogErrors++
			switch {
			case strings.Contains(f.Message, "could not serialize access"):
				acc.SerializationFailures++
			case strings.Contains(f.Message, "deadlock detected"):
				acc.Deadlocks++
			}
			addFailure(acc, f)
		}
	}
	if s.m.stmts && s.before != nil {
		after, err := s.m.statements(ctx)
		if err != nil {
			s.errs = append(s.errs, err)
		} else {
			for id, a := range after {
				b := s.before[id]
				if a.calls == b.calls {
					continue
				}
				addStatement(acc, Statement{QueryID: id, Query: oneLine(a.query, 300), Calls: a.calls - b.calls,
					TotalMs: a.timeMs - b.timeMs, Rows: a.rows - b.rows})
			}
		}
	}
	if len(s.errs) > 0 {
		return fmt.Errorf("database monitor: %w", s.errs[0])
	}
	return nil
}

// addWait merges w into acc's waits.
func addWait(acc *DBStats, w Wait) {
	for i := range acc.Waits {
		o := &acc.Waits[i]
		if o.Type == w.Type && o.Event == w.Event && o.Query == w.Query {
			o.Seconds += w.Seconds
			return
		}
	}
	acc.Waits = append(acc.Waits, w)
}

// addFailure merges f into acc's failures.
func addFailure(acc *DBStats, f Failure) {
	for i := range acc.Failures {
		o := &acc.Failures[i]
		if o.Message == f.Message && o.Query == f.Query {
			o.Count += f.Count
			return
		}
	}
	acc.Failures = append(acc.Failures, f)
}

// addStatement merges st into acc's statements.
func addStatement(acc *DBStats, st Statement) {
	acc.StatementCalls += st.Calls
	acc.StatementMs += st.TotalMs
	for i := range acc.Statements {
		o := &acc.Statements[i]
		if o.QueryID == st.QueryID {
			o.Calls += st.Calls
			o.TotalMs += st.TotalMs
			o.Rows += st.Rows
			return
		}
	}
	acc.Statements = append(acc.Statements, st)
}

// trimDB keeps the statements with the most total time and the longest
// waits.
func trimDB(acc *DBStats) {
	slices.SortFunc(acc.Statements, func(a, b Statement) int { return cmpDesc(a.TotalMs, b.TotalMs) })
	if len(acc.Statements) > topStatements {
		acc.Statements = acc.Statements[:topStatements]
	}
	slices.SortFunc(acc.Waits, func(a, b Wait) int { return cmpDesc(a.Seconds, b.Seconds) })
	if len(acc.Waits) > 8 {
		acc.Waits = acc.Waits[:8]
	}
	slices.SortFunc(acc.Failures, func(a, b Failure) int { return cmpDesc(float64(a.Count), float64(b.Count)) })
	if len(acc.Failures) > 8 {
		acc.Failures = acc.Failures[:8]
	}
}

func cmpDesc(a, b float64) int {
	switch {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}

// oneLine squeezes whitespace and cuts s to n bytes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}
