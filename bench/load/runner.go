package main

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// maxErrorSamples is how many error messages a scenario keeps.
const maxErrorSamples = 5

// errorLog counts failures and keeps the first few messages.
type errorLog struct {
	n       atomic.Int64
	mu      sync.Mutex
	samples []string
}

func (e *errorLog) add(err error) {
	e.n.Add(1)
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.samples) < maxErrorSamples {
		e.samples = append(e.samples, err.Error())
	}
}

// loadResult summarises one closed-loop load run.
type loadResult struct {
	OK      int64
	Errors  int64
	Elapsed time.Duration
	Lat     latency
}

// rate is successful operations per second.
func (r loadResult) rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.OK) / r.Elapsed.Seconds()
}

// latency holds percentiles of successful operations, in milliseconds.
type latency struct {
	P50 float64 `json:"p50_ms"`
	P90 float64 `json:"p90_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
}

func percentiles(d []time.Duration) latency {
	if len(d) == 0 {
		return latency{}
	}
	slices.Sort(d)
	at := func(q float64) float64 {
		i := int(q * float64(len(d)-1))
		return float64(d[i]) / float64(time.Millisecond)
	}
	return latency{P50: at(0.50), P90: at(0.90), P99: at(0.99), Max: at(1)}
}

// runLoad runs op from conc workers in a closed loop until count operations
// have been started (count > 0) or dur has passed, or errs reaches
// maxErrors. seq numbers operations from 0.
func runLoad(ctx context.Context, conc int, dur time.Duration, count, maxErrors int64, errs *errorLog,
	op func(ctx context.Context, worker int, seq int64) error) loadResult {
	var (
		next     atomic.Int64
		ok       atomic.Int64
		stop     atomic.Bool
		wg       sync.WaitGroup
		lats     = make([][]time.Duration, conc)
		start    = time.Now()
		deadline = start.Add(dur)
	)
	startErrs := errs.n.Load()
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() && ctx.Err() == nil {
				seq := next.Add(1) - 1
				if count > 0 {
					if seq >= count {
						return
					}
				} else if time.Now().After(deadline) {
					return
				}
				t0 := time.Now()
				if err := op(ctx, w, seq); err != nil {
					errs.add(err)
					if errs.n.Load()-startErrs >= maxErrors {
						stop.Store(true)
					}
					continue
				}
				lats[w] = append(lats[w], time.Since(t0))
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	all := slices.Concat(lats...)
	return loadResult{OK: ok.Load(), Errors: errs.n.Load() - startErrs, Elapsed: elapsed, Lat: percentiles(all)}
}

// parallel runs f(i) for i in [0, n) on conc workers, logging failures to
// errs, and stops early after maxErrors failures.
func parallel(ctx context.Context, n, conc int, maxErrors int64, errs *errorLog, f func(ctx context.Context, i int) error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	startErrs := errs.n.Load()
	for range min(conc, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && errs.n.Load()-startErrs < maxErrors {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := f(ctx, i); err != nil {
					errs.add(err)
				}
			}
		}()
	}
	wg.Wait()
}
