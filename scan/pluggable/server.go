package pluggable

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/berthreg/berth/scan"
)

// Media types of the API's own messages.
const (
	mimeMetadata     = "application/vnd.scanner.adapter.metadata+json; version=1.1"
	mimeScanRequest  = "application/vnd.scanner.adapter.scan.request+json; version=1.1"
	mimeScanResponse = "application/vnd.scanner.adapter.scan.response+json; version=1.0"
	mimeError        = "application/vnd.scanner.adapter.error+json; version=1.0"
)

// maxRequest bounds a scan request's body.
const maxRequest = 1 << 20

// Server serves a scan.Scanner as a Harbor scanner adapter (Pluggable
// Scanner API v1.2 under /api/v1). Set Scanner; Token, when set, is the
// bearer token (or basic credentials, "Basic …") clients must send.
type Server struct {
	Scanner scan.Scanner
	// Authorization, when set, is the exact Authorization header required.
	Authorization string
	// Logger receives failures (nil: none).
	Logger *slog.Logger
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.Authorization != "" && r.Header.Get("Authorization") != s.Authorization {
		writeError(w, http.StatusUnauthorized, "authorization required")
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/api/v1")
	switch {
	case path == "/metadata" && r.Method == http.MethodGet:
		s.metadata(w, r)
	case path == "/scan" && r.Method == http.MethodPost:
		s.scan(w, r)
	case strings.HasPrefix(path, "/scan/") && strings.HasSuffix(path, "/report") && r.Method == http.MethodGet:
		s.report(w, r, strings.TrimSuffix(strings.TrimPrefix(path, "/scan/"), "/report"))
	default:
		writeError(w, http.StatusNotFound, "no such operation: "+r.Method+" "+r.URL.Path)
	}
}

func (s *Server) metadata(w http.ResponseWriter, r *http.Request) {
	m, err := s.Scanner.Metadata(r.Context())
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, mimeMetadata, m)
}

func (s *Server) scan(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || (mt != "application/json" && !strings.HasPrefix(mt, "application/vnd.scanner.adapter.scan.request+json")) {
			writeError(w, http.StatusBadRequest, "Content-Type "+ct+" is not a scan request")
			return
		}
	}
	var req scan.Request
	dec := json.NewDecoder(io.LimitReader(r.Body, maxRequest))
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "scan request: "+err.Error())
		return
	}
	if err := req.Check(); err != nil {
		writeError(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	id, err := s.Scanner.Scan(r.Context(), req)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusAccepted, mimeScanResponse, map[string]string{"id": id})
}

func (s *Server) report(w http.ResponseWriter, r *http.Request, id string) {
	accept := r.Header.Get("Accept")
	if accept == "" || accept == "*/*" {
		accept = scan.MimeVulnReport
	}
	sbomType := r.URL.Query().Get("sbom_media_type")
	if accept == scan.MimeSBOMReport && sbomType != scan.MimeSPDX && sbomType != scan.MimeCycloneDX {
		writeError(w, http.StatusBadRequest, "sbom_media_type: must be "+scan.MimeSPDX+" or "+scan.MimeCycloneDX)
		return
	}
	body, err := s.Scanner.Report(r.Context(), id, accept, sbomType)
	var nr *scan.NotReady
	if errors.As(err, &nr) {
		w.Header().Set("Refresh-After", strconv.Itoa(max(1, int(nr.RetryAfter.Round(time.Second)/time.Second))))
		w.Header().Set("Location", r.URL.RequestURI())
		w.WriteHeader(http.StatusFound)
		return
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	w.Header().Set("Content-Type", accept)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// fail answers a scanner's error with the status the API gives it.
func (s *Server) fail(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, scan.ErrUnknownScan):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, scan.ErrUnsupported):
		writeError(w, http.StatusNotImplemented, err.Error())
	case errors.Is(err, scan.ErrInvalid):
		writeError(w, http.StatusUnprocessableEntity, err.Error())
	default:
		if s.Logger != nil {
			s.Logger.Error("scanner adapter", "err", err)
		}
		writeError(w, http.StatusInternalServerError, err.Error())
	}
}

func writeJSON(w http.ResponseWriter, status int, contentType string, v any) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, mimeError, map[string]any{"error": map[string]string{"message": msg}})
}
