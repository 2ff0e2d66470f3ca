package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/berthreg/berth/meta"
)

// Errors specific to this backend (the meta sentinels are returned,
// wrapped, as the meta contract says).
var (
	// ErrClosed reports a transaction started on a closed Store.
	ErrClosed = errors.New("meta/postgres: store is closed")
	// ErrTxDone reports a transaction view used after the function it was
	// handed to has returned.
	ErrTxDone = errors.New("meta/postgres: transaction has ended")
)

// SQLSTATE codes the store acts on.
const (
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
	codeQueryCanceled        = "57014" // statement_timeout, or a cancelled context
	codeTombstoned           = "BT001" // berth_tombstoned (migration 0004)
)

// sqlState returns err's SQLSTATE, or "".
func sqlState(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// retryable reports a failure that running the transaction again may
// avoid: a serialization failure or a deadlock.
func retryable(err error) bool {
	switch sqlState(err) {
	case codeSerializationFailure, codeDeadlockDetected:
		return true
	}
	return false
}

// unavailable reports an error of the server or of the way to it rather
// than of the request: refused or lost connections, a server shutting
// down or starting, out of connections or resources, a statement or lock
// timeout.
func unavailable(err error) bool {
	if err == nil {
		return false
	}
	if code := sqlState(err); code != "" {
		switch {
		case strings.HasPrefix(code, "08"), // connection exception
			strings.HasPrefix(code, "53"), // insufficient resources (too many connections, disk full, …)
			strings.HasPrefix(code, "57"), // operator intervention: shutdown, cannot connect now, statement timeout
			strings.HasPrefix(code, "58"), // system error (I/O)
			code == "55P03":               // lock_not_available (lock_timeout)
			return true
		}
		return false
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	switch {
	case errors.As(err, &ce), errors.As(err, &ne),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, pgconn.ErrConnClosed), pgconn.Timeout(err):
		return true
	}
	return false
}

// wrap turns an error of pgx into what the store returns: ctx's error
// when ctx is done, meta.ErrUnavailable (wrapped) when the server could
// not be reached, else err itself; op names the operation.
func wrap(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		sqlState(err) == codeQueryCanceled || pgconn.Timeout(err) || unavailable(err)) {
		return fmt.Errorf("meta/postgres: %s: %w", op, cerr)
	}
	if errors.Is(err, meta.ErrUnavailable) || errors.Is(err, ErrClosed) {
		return err
	}
	if sqlState(err) == codeTombstoned {
		return fmt.Errorf("meta/postgres: %s: %w: %w", op, meta.ErrTombstoned, err)
	}
	if unavailable(err) {
		return fmt.Errorf("meta/postgres: %s: %w: %w", op, meta.ErrUnavailable, err)
	}
	return fmt.Errorf("meta/postgres: %s: %w", op, err)
}
