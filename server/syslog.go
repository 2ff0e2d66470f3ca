package server

import (
	"context"
	"fmt"
	"log/syslog"
	"strings"

	"github.com/berthreg/berth/events"
	"github.com/berthreg/berth/meta"
)

// syslogForwarder returns the consumer that writes the audit log to the
// syslog server at target ("udp://host:514" or "tcp://host:514"), one
// message per event: time, operator, operation, resource, result. opts
// are the server's consumer options (its bell, logger and lease).
func syslogForwarder(store meta.Store, target string, opts ...events.ConsumerOption) (*events.Consumer, error) {
	network, addr, _ := strings.Cut(target, "://")
	w, err := syslog.Dial(network, addr, syslog.LOG_INFO|syslog.LOG_AUTH, "berth-audit")
	if err != nil {
		return nil, fmt.Errorf("events.syslog: %w", err)
	}
	return events.NewConsumer(store, syslogConsumer, events.Func(func(_ context.Context, batch []meta.Event) error {
		for _, e := range batch {
			if err := w.Info(events.AuditLine(e)); err != nil {
				return err
			}
		}
		return nil
	}), append(opts, events.WithFrom(events.FromNow))...)
}
