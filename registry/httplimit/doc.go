// Package httplimit bounds what clients can make a server hold open: a
// request body that stops sending is cut after an idle timeout (a slow
// but live upload is not: each read extends the deadline), and requests
// without credentials share a cap on how many may be in flight at once.
//
// Both are middleware around any http.Handler; a host puts them
// outermost, next to its http.Server (whose ReadHeaderTimeout bounds the
// headers):
//
//	h = httplimit.IdleBodies(h, time.Minute)
//	h = httplimit.CapAnonymous(h, 256)
//	srv := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second}
package httplimit
