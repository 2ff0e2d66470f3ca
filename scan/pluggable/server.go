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
// Scanner API v1.2 under /api/v1). Make one with NewServer.
type Server struct {
	scanner       scan.Scanner
	authorization string
	logger        *slog.Logger
}

// ServerOption configures a Server made by NewServer.
type ServerOption func(*Server)

// WithRequiredAuthorization makes the server refuse requests whose
// Authorization header is not exactly h (a bearer token, or basic
// credentials, "Basic …").
func WithRequiredAuthorization(h string) ServerOption {
	return func(s *Server) { s.authorization = h }
}

// WithLogger sets the logger that receives failures (default: none).
func WithLogger(l *slog.Logger) ServerOption { return func(s *Server) { s.logger = l } }

// NewServer returns the adapter serving scanner.
func NewServer(scanner scan.Scanner, opts ...ServerOption) (*Server, error) {
	if scanner == nil {
		return nil, errors.New("scanner adapter: NewServer: nil scanner")
	}
	s := &Server{scanner: scanner}
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.authorization != "" && r.Header.Get("Authorization") != s.authorization {
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
	m, err := s.scanner.Metadata(r.Context())
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
	id, err := s.scanner.Scan(r.Context(), req)
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
	body, err := s.scanner.Report(r.Context(), id, accept, sbomType)
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
		if s.logger != nil {
			s.logger.Error("scanner adapter", "err", err)
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
