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

// procCPU returns utime+stime of pid in seconds.
func procCPU(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("unexpected /proc/PID/stat format")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, errors.New("short /proc/PID/stat")
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return float64(ut+st) / userHZ, nil
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

// procWatch samples one process around scenarios.
type procWatch struct {
	pid      int
	peak     int64
	canReset bool
}

func newProcWatch(pid int) (*procWatch, error) {
	if _, err := procCPU(pid); err != nil {
		return nil, fmt.Errorf("-server-pid %d: %w", pid, err)
	}
	return &procWatch{pid: pid}, nil
}

// start records the initial state and enables peak resets if allowed.
func (p *procWatch) start() *ServerStats {
	s := &ServerStats{PID: p.pid}
	s.RSSStartBytes, _ = procStatusBytes(p.pid, "VmRSS")
	s.CPUStartSeconds, _ = procCPU(p.pid)
	p.peak, _ = procStatusBytes(p.pid, "VmHWM")
	// Writing 5 to clear_refs resets VmHWM to the current RSS (Linux 4.0+).
	p.canReset = os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", p.pid), []byte("5"), 0) == nil
	s.PeakReset = p.canReset
	return s
}

// beginScenario resets the peak so the next reading belongs to one scenario.
func (p *procWatch) beginScenario() {
	if p.canReset {
		_ = os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", p.pid), []byte("5"), 0)
	}
}

// cpu returns the process CPU seconds, or -1 if it cannot be read.
func (p *procWatch) cpu() float64 {
	v, err := procCPU(p.pid)
	if err != nil {
		return -1
	}
	return v
}

// endScenario returns the peak RSS since beginScenario.
func (p *procWatch) endScenario() int64 {
	v, err := procStatusBytes(p.pid, "VmHWM")
	if err != nil {
		return -1
	}
	p.peak = max(p.peak, v)
	return v
}

// finish fills the whole-run totals.
func (p *procWatch) finish(s *ServerStats) {
	cpu, err := procCPU(p.pid)
	if err != nil {
		s.Error = fmt.Sprintf("server process %d: %v", p.pid, err)
		return
	}
	s.CPUSeconds = cpu
	if v, err := procStatusBytes(p.pid, "VmHWM"); err == nil {
		p.peak = max(p.peak, v)
	}
	s.PeakRSSBytes = p.peak
}
