// Command platform is a small PaaS that embeds Berth as its image hub,
// the way a platform such as Rainbond uses Harbor: its own people sign in
// to the registry through its own authenticator, creating a tenant
// creates the tenant's project (the namespace of its image hub domain)
// with robots for its build system and its nodes, a push to a
// component's repository redeploys the component (an in-process consumer
// of the registry's event log), and the pull gate keeps vulnerable or
// unscanned images off its nodes.
//
//	go run ./examples/platform -addr 127.0.0.1:8090 -admin-password s3cret
//	curl -u admin:s3cret -d '{"name":"acme"}' http://127.0.0.1:8090/platform/tenants
//
// The answer holds the image hub ({"domain":"127.0.0.1:8090/acme",
// "username":"robot$acme+builder","password":…}) a build system pushes
// "<domain>/app:v2" to.
package main

import (
	"context"
	"errors"
	"flag"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8090", "address to listen on; also the registry part of image hub domains")
	dataDir := flag.String("data", "./data/platform", "where the registry keeps blobs and metadata")
	adminPassword := flag.String("admin-password", "", "password of the platform's admin account (required)")
	osvDB := flag.String("osv-db", "", "OSV vulnerability database for the built-in scanner")
	flag.Parse()
	if *adminPassword == "" {
		log.Fatal("platform: -admin-password is required")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	people := NewPeople()
	if err := people.Add("admin", *adminPassword, "", true); err != nil {
		log.Fatal(err)
	}
	p, err := New(ctx, Config{DataDir: *dataDir, Host: *addr, OSVDB: *osvDB,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))}, people)
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	hs := &http.Server{Handler: p.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
	}()
	go func() {
		if err := p.Run(ctx); err != nil {
			log.Print(err)
		}
	}()
	log.Printf("platform on http://%s (API /platform/, registry /v2/)", *addr)
	if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}
