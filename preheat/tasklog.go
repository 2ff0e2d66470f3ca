package preheat

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/berthreg/berth/meta"
)

// logTruncated starts a log whose oldest lines gave way to MaxTaskLogBytes.
const logTruncated = "[earlier lines dropped]\n"

// appendLog adds timestamped lines to the log of the task keyed key, in
// tx, keeping its last MaxTaskLogBytes (whole lines).
func appendLog(tx meta.Tx, key string, at time.Time, lines ...string) error {
	r := tx.Records(kindLogs)
	raw, err := r.Get(key)
	if err != nil && !errors.Is(err, meta.ErrNotFound) {
		return err
	}
	var b strings.Builder
	b.Write(raw)
	for _, l := range lines {
		fmt.Fprintf(&b, "%s %s\n", at.Format(time.RFC3339), strings.ReplaceAll(l, "\n", " "))
	}
	return r.Put(key, []byte(trimLog(b.String())))
}

// trimLog keeps the last MaxTaskLogBytes of log, from a line's start.
func trimLog(log string) string {
	if len(log) <= MaxTaskLogBytes {
		return log
	}
	keep := log[len(log)-(MaxTaskLogBytes-len(logTruncated)):]
	if i := strings.IndexByte(keep, '\n'); i >= 0 && i+1 < len(keep) {
		keep = keep[i+1:]
	}
	return logTruncated + keep
}

// readLog returns the log of the task keyed key ("" when it has none).
func readLog(tx meta.Tx, key string) (string, error) {
	raw, err := tx.Records(kindLogs).Get(key)
	if errors.Is(err, meta.ErrNotFound) {
		return "", nil
	}
	return string(raw), err
}
