// Package inproc reaches an http.Handler without a socket: New returns an
// http.RoundTripper that serves requests for Host with the handler in this
// process. It is how a registry's replication engine and scan engine push
// and pull through the registry they run in, so both get the registry's
// hooks (authorization, policies, events) exactly as a client would.
//
//	local := inproc.New(registryHandler, inproc.WithContext(asEngine))
//	repl, err := replication.NewEngine(store, queue, replication.WithLocalTransport(local))
//	scans, err := engine.New(store, engine.WithLocal(local), engine.WithRegistryURL(external, internal, "http://"+inproc.Host))
package inproc
