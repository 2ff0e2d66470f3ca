package builtin

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	scalibrlog "github.com/google/osv-scalibr/log"
)

// osv-scalibr logs through one process-wide logger (to the standard
// library's log package unless told otherwise). New points it, once, at
// libraryLogger: the logger of the scanner most recently made with
// WithLogger, discarding until there is one. Its Info messages (a line
// per file system walk) are logged at Debug.
var (
	libraryLogger atomic.Pointer[slog.Logger]
	routeOnce     sync.Once
)

func routeLibraryLogs(l *slog.Logger) {
	if l != nil {
		libraryLogger.Store(l)
	}
	routeOnce.Do(func() { scalibrlog.SetLogger(scalibrLogger{}) })
}

// scalibrLogger implements osv-scalibr's log.Logger on slog.
type scalibrLogger struct{}

func (scalibrLogger) log(level slog.Level, msg string) {
	l := libraryLogger.Load()
	if l == nil {
		return
	}
	l.Log(context.Background(), level, msg, "component", "osv-scalibr")
}

func (s scalibrLogger) Errorf(format string, args ...any) {
	s.log(slog.LevelError, fmt.Sprintf(format, args...))
}
func (s scalibrLogger) Warnf(format string, args ...any) {
	s.log(slog.LevelWarn, fmt.Sprintf(format, args...))
}
func (s scalibrLogger) Infof(format string, args ...any) {
	s.log(slog.LevelDebug, fmt.Sprintf(format, args...))
}
func (s scalibrLogger) Debugf(format string, args ...any) {
	s.log(slog.LevelDebug, fmt.Sprintf(format, args...))
}
func (s scalibrLogger) Error(args ...any) { s.log(slog.LevelError, fmt.Sprint(args...)) }
func (s scalibrLogger) Warn(args ...any)  { s.log(slog.LevelWarn, fmt.Sprint(args...)) }
func (s scalibrLogger) Info(args ...any)  { s.log(slog.LevelDebug, fmt.Sprint(args...)) }
func (s scalibrLogger) Debug(args ...any) { s.log(slog.LevelDebug, fmt.Sprint(args...)) }
