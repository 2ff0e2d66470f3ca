package server

import (
	"bufio"
	"io"
	"net"
	"net/http"
)

// recordingWriter notes the status and body bytes of a response for the
// request metrics and spans. It keeps what the server's writer offers:
// ReadFrom (sendfile from a file), Flush, Hijack, and Unwrap for
// http.ResponseController (read deadlines).
type recordingWriter struct {
	http.ResponseWriter
	status  int   // the final status sent (0: none yet)
	written int64 // body bytes sent
}

// sent notes the implicit 200 of a body written before a status.
func (w *recordingWriter) sent() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
}

func (w *recordingWriter) WriteHeader(code int) {
	if w.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recordingWriter) Write(b []byte) (int, error) {
	w.sent()
	n, err := w.ResponseWriter.Write(b)
	w.written += int64(n)
	return n, err
}

// ReadFrom hands src to the server's writer (sendfile for a file).
func (w *recordingWriter) ReadFrom(src io.Reader) (int64, error) {
	w.sent()
	var n int64
	var err error
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(src)
	} else {
		n, err = io.Copy(struct{ io.Writer }{w.ResponseWriter}, src)
	}
	w.written += n
	return n, err
}

func (w *recordingWriter) Flush() {
	w.sent()
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *recordingWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Unwrap gives http.ResponseController the server's writer.
func (w *recordingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
