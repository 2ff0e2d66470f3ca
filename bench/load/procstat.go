package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// userHZ is the unit of the CPU times in /proc/PID/stat. Linux fixes it at
// 100 for user space on every architecture Go supports.
const userHZ = 100

// procStat is what the load tool reads from /proc/PID/stat.
type procStat struct {
	ppid int
	// cpu is utime+stime in seconds; childCPU is cutime+cstime, the CPU of
	// the children the process has waited for.
	cpu, childCPU float64
}

// readProcStat parses /proc/PID/stat.
func readProcStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, errors.New("unexpected /proc/PID/stat format")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state), f[1] the ppid; utime, stime, cutime and
	// cstime are fields 14 to 17.
	if len(f) < 15 {
		return procStat{}, errors.New("short /proc/PID/stat")
	}
	var v [5]uint64
	for k, j := range []int{1, 11, 12, 13, 14} {
		n, err := strconv.ParseUint(f[j], 10, 64)
		if err != nil {
			return procStat{}, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
		v[k] = n
	}
	return procStat{ppid: int(v[0]), cpu: float64(v[1]+v[2]) / userHZ, childCPU: float64(v[3]+v[4]) / userHZ}, nil
}

// procCPU returns utime+stime of pid in seconds.
func procCPU(pid int) (float64, error) {
	s, err := readProcStat(pid)
	return s.cpu, err
}

// procStatusBytes returns a "kB" field of /proc/PID/status (VmRSS, VmHWM) in
// bytes.
func procStatusBytes(pid int, key string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		rest, ok := strings.CutPrefix(line, key+":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("unexpected %s line %q", key, line)
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		return kb << 10, err
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", key, pid)
}

// parsePIDs reads a comma-separated list of process ids.
func parsePIDs(s string) ([]int, error) {
	var pids []int
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		pid, err := strconv.Atoi(f)
		if err != nil || pid <= 0 {
			return nil, fmt.Errorf("bad pid %q", f)
		}
		pids = append(pids, pid)
	}
	return pids, nil
}

// treeCPU returns the CPU seconds of the processes roots and all their
// descendants: utime+stime of each live one plus cutime+cstime, which
// holds the CPU of the children each has waited for (PostgreSQL backends
// that ended, for instance). It fails when a root is gone.
//
// The descendants are found by scanning /proc for parent pids. A process
// that exits and is reaped between the scan and the reads is missed for
// that one reading; a pool's connections live for the whole run, so that
// error is small.
func treeCPU(roots []int) (float64, error) {
	children := map[int][]int{}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	stats := map[int]procStat{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		s, err := readProcStat(pid)
		if err != nil {
			continue // exited meanwhile
		}
		stats[pid] = s
		children[s.ppid] = append(children[s.ppid], pid)
	}
	total := 0.0
	seen := map[int]bool{}
	var walk func(pid int)
	walk = func(pid int) {
		if seen[pid] {
			return
		}
		seen[pid] = true
		s := stats[pid]
		total += s.cpu + s.childCPU
		for _, c := range children[pid] {
			walk(c)
		}
	}
	for _, r := range roots {
		if _, ok := stats[r]; !ok {
			return 0, fmt.Errorf("process %d is gone", r)
		}
		walk(r)
	}
	return total, nil
}

// procGroup samples a set of processes and their descendants: the
// registry instances, PostgreSQL's postmaster with its backends, or
// nginx's master with its workers.
type procGroup struct {
	name     string
	pids     []int
	peak     int64
	canReset bool
}

func newProcGroup(name string, pids []int) (*procGroup, error) {
	if _, err := treeCPU(pids); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &procGroup{name: name, pids: pids}, nil
}

// rss sums a /proc/PID/status field over the roots (not their children).
func (p *procGroup) rss(key string) (int64, error) {
	var sum int64
	for _, pid := range p.pids {
		v, err := procStatusBytes(pid, key)
		if err != nil {
			return 0, err
		}
		sum += v
	}
	return sum, nil
}

// resetPeaks resets each root's VmHWM to its current RSS (Linux 4.0+),
// reporting whether that worked for all of them.
func (p *procGroup) resetPeaks() bool {
	ok := true
	for _, pid := range p.pids {
		ok = os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0) == nil && ok
	}
	return ok
}

// start records the initial state and enables peak resets if allowed.
func (p *procGroup) start() *ServerStats {
	s := &ServerStats{PID: p.pids[0], PIDs: p.pids}
	s.RSSStartBytes, _ = p.rss("VmRSS")
	s.CPUStartSeconds = p.cpu()
	p.peak, _ = p.rss("VmHWM")
	p.canReset = p.resetPeaks()
	s.PeakReset = p.canReset
	return s
}

// beginScenario resets the peaks so the next reading belongs to one
// scenario.
func (p *procGroup) beginScenario() {
	if p.canReset {
		p.resetPeaks()
	}
}

// cpu returns the group's CPU seconds, or -1 if it cannot be read.
func (p *procGroup) cpu() float64 {
	v, err := treeCPU(p.pids)
	if err != nil {
		return -1
	}
	return v
}

// endScenario returns the summed peak RSS since beginScenario.
func (p *procGroup) endScenario() int64 {
	v, err := p.rss("VmHWM")
	if err != nil {
		return -1
	}
	p.peak = max(p.peak, v)
	return v
}

// finish fills the whole-run totals.
func (p *procGroup) finish(s *ServerStats) {
	cpu, err := treeCPU(p.pids)
	if err != nil {
		s.Error = fmt.Sprintf("%s: %v", p.name, err)
		return
	}
	s.CPUSeconds = cpu
	if v, err := p.rss("VmHWM"); err == nil {
		p.peak = max(p.peak, v)
	}
	s.PeakRSSBytes = p.peak
}
