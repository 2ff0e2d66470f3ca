package webhook

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/url"
	"strconv"
	"syscall"

	"github.com/berthreg/berth/netguard"
)

// errRedirect reports a receiver that answered with a redirect.
var errRedirect = errors.New("webhook: receivers must not redirect")

// statusClass is the delivery log's error class of an HTTP status that is
// not a success.
func statusClass(status int) string { return "http " + strconv.Itoa(status) }

// errorClass names, in a few words, why a request got no answer: what the
// delivery log keeps instead of the error's text (which may name the
// target's URL, credentials and all).
func errorClass(err error) string {
	var (
		dnsErr  *net.DNSError
		netErr  net.Error
		certErr *tls.CertificateVerificationError
		hostErr x509.HostnameError
		authErr x509.UnknownAuthorityError
		invErr  x509.CertificateInvalidError
		recErr  tls.RecordHeaderError
		alert   tls.AlertError
	)
	switch {
	case errors.Is(err, netguard.ErrForbiddenAddress):
		return "forbidden address"
	case errors.Is(err, errRedirect):
		return "redirect"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.As(err, &dnsErr):
		return "dns"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection reset"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "unreachable"
	case errors.As(err, &certErr), errors.As(err, &hostErr), errors.As(err, &authErr), errors.As(err, &invErr),
		errors.As(err, &recErr), errors.As(err, &alert):
		return "tls"
	}
	return "error"
}

// withoutURL drops the URL a client error carries (the target's address,
// whose path or query may hold a token) and keeps the cause.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
