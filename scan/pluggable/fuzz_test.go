package pluggable

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzScanRequest: any body posted to /scan is accepted (202) or refused
// as malformed (400) or invalid (422), with the API's error shape; never a
// 500 or a panic.
func FuzzScanRequest(f *testing.F) {
	for _, s := range []string{`{"registry":{"url":"http://r"},"artifact":{"repository":"a","digest":"sha256:x"}}`, `{`, `[]`, `{"registry":1}`, ``} {
		f.Add(s)
	}
	srv := newServer(f, &slowScanner{})
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/scan", strings.NewReader(body))
		req.Header.Set("Content-Type", mimeScanRequest)
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		switch w.Code {
		case http.StatusAccepted:
		case http.StatusBadRequest, http.StatusUnprocessableEntity:
			if w.Header().Get("Content-Type") != mimeError || !strings.Contains(w.Body.String(), `"message"`) {
				t.Fatalf("refusal without the error shape: %s", w.Body)
			}
		default:
			t.Fatalf("status %d for %q", w.Code, body)
		}
	})
}
