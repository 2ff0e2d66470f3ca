package registry_test

import (
	"flag"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/berthreg/berth/internal/testbolt"
	"github.com/berthreg/berth/internal/testpg"
	"github.com/berthreg/berth/meta"
)

// benchHTTP makes BenchmarkBackends send its requests over HTTP on
// loopback, as clients do: this process's CPU then holds the client's
// HTTP work as well as the server's.
var benchHTTP = flag.Bool("bench.http", false, "BenchmarkBackends: send requests over HTTP instead of calling the handler")

// BenchmarkBackends runs each hot registry operation (hotOps) on bbolt
// and on PostgreSQL, calling the handler directly (no HTTP, so the
// figures are the handler's and its store's alone; -bench.http sends
// them over loopback HTTP instead), and reports the CPU each operation
// cost: cpu-µs/op is this process (handler, store client, the benchmark
// loop), pg-µs/op the PostgreSQL server's processes (the children of
// BERTH_POSTGRES_PID, which scripts/postgres.sh exports; 0 on bbolt),
// total-µs/op their sum. Compare total-µs/op of an operation across the
// two backends:
//
//	scripts/postgres.sh -- go test -run '^$' -bench Backends -benchtime 2000x ./registry/
//	scripts/postgres.sh -- go test -run '^$' -bench Backends -benchtime 2000x ./registry/ -args -bench.http
//
// The server's CPU is read from /proc in clock ticks (10 ms), so run
// enough operations (-benchtime 2000x or more) for the figure to settle;
// and on a machine nothing else keeps busy, as CPU time too grows when
// other work competes for the caches and cores.
func BenchmarkBackends(b *testing.B) {
	backends := []struct {
		name string
		open func(testing.TB) meta.Store
	}{
		{"bolt", func(t testing.TB) meta.Store { return testbolt.Open(t) }},
		{"postgres", func(t testing.TB) meta.Store { return testpg.Open(t) }},
	}
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			e := newEnvOn(b, be.open(b))
			e.direct = !*benchHTTP
			fix := setupHot(b, e)
			for _, op := range hotOps(b, e, fix) {
				if op.step {
					continue // measured whole, as "chunked upload"
				}
				b.Run(strings.ReplaceAll(op.name, " ", "_"), func(b *testing.B) {
					if err := op.do(-1 - b.N); err != nil { // prepares the statements
						b.Fatal(err)
					}
					self, server := processCPU(), postgresCPU(b)
					b.ResetTimer()
					for i := range b.N {
						if err := op.do(i); err != nil {
							b.Fatal(err)
						}
					}
					b.StopTimer()
					selfNs, serverNs := processCPU()-self, postgresCPU(b)-server
					n := float64(b.N)
					b.ReportMetric(float64(selfNs)/n/1e3, "cpu-µs/op")
					b.ReportMetric(float64(serverNs)/n/1e3, "pg-µs/op")
					b.ReportMetric(float64(selfNs+serverNs)/n/1e3, "total-µs/op")
				})
			}
		})
	}
}

// processCPU returns the CPU time this process has used, in nanoseconds.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// postgresCPU returns the CPU time, in nanoseconds, used by the running
// PostgreSQL server processes: the postmaster named by BERTH_POSTGRES_PID
// and its children (backends, background workers). 0 when the variable
// is unset.
func postgresCPU(b *testing.B) int64 {
	pid := os.Getenv("BERTH_POSTGRES_PID")
	if pid == "" {
		return 0
	}
	procs, err := os.ReadDir("/proc")
	if err != nil {
		b.Fatal(err)
	}
	var ticks int64
	for _, p := range procs {
		if _, err := strconv.Atoi(p.Name()); err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + p.Name() + "/stat")
		if err != nil {
			continue // exited meanwhile
		}
		// Fields after the command (which may hold spaces): state, ppid,
		// …, utime (14th field of the line), stime (15th).
		s := string(stat)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) < 13 || (p.Name() != pid && f[1] != pid) {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		k, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += u + k
	}
	return ticks * 1e9 / clockTicks
}

// clockTicks is the kernel's USER_HZ, the unit of /proc/<pid>/stat's
// times: 100 on every Linux architecture Go supports.
const clockTicks = 100
