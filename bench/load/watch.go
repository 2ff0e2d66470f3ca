package main

import (
	"context"
	"time"
)

// watch sets up the process groups and the database monitor the flags
// name, and records their starting state in rep.
func (b *bench) watch(ctx context.Context, rep *Report) error {
	cfg := b.cfg
	var err error
	if len(cfg.serverPIDs) > 0 {
		if b.server, err = newProcGroup("-server-pid", cfg.serverPIDs); err != nil {
			return err
		}
		rep.Server = b.server.start()
	}
	if cfg.dbPID > 0 {
		if b.db, err = newProcGroup("-db-pid", []int{cfg.dbPID}); err != nil {
			return err
		}
		rep.DB = &ServerStats{PID: cfg.dbPID}
	}
	if cfg.lbPID > 0 {
		if b.lb, err = newProcGroup("-lb-pid", []int{cfg.lbPID}); err != nil {
			return err
		}
		rep.LB = &ServerStats{PID: cfg.lbPID}
	}
	if cfg.storePID > 0 {
		if b.store, err = newProcGroup("-store-pid", []int{cfg.storePID}); err != nil {
			return err
		}
		rep.Store = &ServerStats{PID: cfg.storePID}
	}
	if cfg.dbDSN != "" {
		if b.mon, err = newDBMonitor(ctx, cfg.dbDSN, cfg.dbSample, cfg.dbLog); err != nil {
			return err
		}
	}
	for _, o := range others(rep, b.readCPU()) {
		o.stats.CPUStartSeconds = o.cpu
	}
	return nil
}

// other is the record of a watched group besides the registry's, and its
// CPU in one reading.
type other struct {
	stats *ServerStats
	cpu   float64
}

// others lists the groups besides the registry that rep records.
func others(rep *Report, c cpuReading) []other {
	var out []other
	for _, o := range []other{{rep.DB, c.db}, {rep.LB, c.lb}, {rep.Store, c.store}} {
		if o.stats != nil {
			out = append(out, o)
		}
	}
	return out
}

// finish fills the whole-run figures.
func (b *bench) finish(rep *Report) {
	if b.server != nil {
		b.server.finish(rep.Server)
		if rep.Server.Error != "" {
			rep.TotalErrors++
		}
	}
	for _, o := range others(rep, b.readCPU()) {
		o.stats.CPUSeconds = o.cpu
	}
}

// cpuReading is the CPU seconds of the watched groups at one moment; -1
// where a group is not watched or could not be read.
type cpuReading struct{ server, db, lb, store float64 }

// readCPU reads every watched group. PostgreSQL's figure leaves out the
// monitor's own backend.
func (b *bench) readCPU() cpuReading {
	r := cpuReading{server: -1, db: -1, lb: -1, store: -1}
	if b.server != nil {
		r.server = b.server.cpu()
	}
	if b.db != nil {
		if r.db = b.db.cpu(); r.db >= 0 && b.mon != nil {
			r.db -= b.mon.backendCPU()
		}
	}
	if b.lb != nil {
		r.lb = b.lb.cpu()
	}
	if b.store != nil {
		r.store = b.store.cpu()
	}
	return r
}

// cpuDelta is the CPU the watched groups used over a section.
type cpuDelta struct{ server, db, lb, store float64 }

// since returns the CPU used from r0 to r1, zero where either is unread.
func since(r0, r1 cpuReading) cpuDelta {
	d := func(a, b float64) float64 {
		if a < 0 || b < 0 {
			return 0
		}
		return b - a
	}
	return cpuDelta{server: d(r0.server, r1.server), db: d(r0.db, r1.db), lb: d(r0.lb, r1.lb), store: d(r0.store, r1.store)}
}

// timedCPU runs f as a measured section: it returns f's wall time and
// the CPU the watched processes used meanwhile, adds both CPU and the
// database's statements and waits to the scenario's timed figures.
func (s *scenario) timedCPU(f func()) (time.Duration, cpuDelta) {
	var sec *dbSection
	if s.b.mon != nil {
		sec = s.b.mon.begin(s.ctx)
	}
	r0 := s.b.readCPU()
	t0 := time.Now()
	f()
	el := time.Since(t0)
	d := since(r0, s.b.readCPU())
	s.res.ServerTimedCPUSeconds += d.server
	s.res.DBTimedCPUSeconds += d.db
	s.res.LBTimedCPUSeconds += d.lb
	s.res.StoreTimedCPUSeconds += d.store
	if sec != nil {
		if s.res.DB == nil {
			s.res.DB = &DBStats{}
		}
		if err := sec.end(s.ctx, s.res.DB); err != nil {
			s.errs.add(err)
		}
	}
	return el, d
}

// timed is timedCPU for callers that need only the wall time.
func (s *scenario) timed(f func()) time.Duration {
	el, _ := s.timedCPU(f)
	return el
}

// cpuPer records server CPU (the registry's plus PostgreSQL's) per unit of
// work over all the scenario's timed sections, when the server is watched;
// with PostgreSQL watched, also each part; with a load balancer or an
// object store watched, their CPU apart. what
// completes the labels ("per op, manifest pushes").
func (s *scenario) cpuPer(name, what string, units, scale float64, unit string) {
	d := cpuDelta{server: s.res.ServerTimedCPUSeconds, db: s.res.DBTimedCPUSeconds, lb: s.res.LBTimedCPUSeconds,
		store: s.res.StoreTimedCPUSeconds}
	s.cpuPerOf(d, name, what, units, scale, unit)
}

// cpuPerOf is cpuPer over the CPU of given sections.
func (s *scenario) cpuPerOf(d cpuDelta, name, what string, units, scale float64, unit string) {
	if s.b.server == nil || units <= 0 {
		return
	}
	per := func(v float64) float64 { return v * scale / units }
	s.metric(name, "server CPU "+what, per(d.server+d.db), unit, lower)
	if s.b.db != nil {
		s.metric(name+"_berth", "registry CPU "+what, per(d.server), unit, lower)
		s.metric(name+"_db", "PostgreSQL CPU "+what, per(d.db), unit, lower)
	}
	if s.b.lb != nil {
		s.metric(name+"_lb", "load balancer CPU "+what, per(d.lb), unit, lower)
	}
	if s.b.store != nil {
		s.metric(name+"_store", "object store CPU "+what, per(d.store), unit, lower)
	}
}
