package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Standard Webhooks headers.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// secretKey is the HMAC key of a target secret: the base64 after
// "whsec_", or the text itself.
func secretKey(secret string) []byte {
	if b64, ok := strings.CutPrefix(secret, "whsec_"); ok {
		if k, err := base64.StdEncoding.DecodeString(b64); err == nil {
			return k
		}
	}
	return []byte(secret)
}

// signature is "v1," and the base64 HMAC-SHA256 of "id.timestamp.body".
func signature(secret, id string, ts int64, body []byte) string {
	m := hmac.New(sha256.New, secretKey(secret))
	m.Write([]byte(id + "." + strconv.FormatInt(ts, 10) + "."))
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Sign sets the Standard Webhooks headers on h for body.
func Sign(h http.Header, secret, id string, at time.Time, body []byte) {
	ts := at.Unix()
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	h.Set(HeaderSignature, signature(secret, id, ts, body))
}

// ErrSignature reports a delivery whose signature does not verify.
var ErrSignature = errors.New("webhook: bad signature")

// Verify checks a received delivery's Standard Webhooks headers against
// secret, refusing timestamps more than tolerance away from now: what a
// receiver does.
func Verify(h http.Header, secret string, body []byte, now time.Time, tolerance time.Duration) error {
	id, tsText := h.Get(HeaderID), h.Get(HeaderTimestamp)
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if id == "" || err != nil {
		return ErrSignature
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return ErrSignature
	}
	want := signature(secret, id, ts, body)
	for _, got := range strings.Fields(h.Get(HeaderSignature)) {
		if hmac.Equal([]byte(got), []byte(want)) {
			return nil
		}
	}
	return ErrSignature
}
