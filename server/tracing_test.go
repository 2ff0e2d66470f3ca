package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/berthreg/berth/internal/eventually"
	"github.com/berthreg/berth/webhook"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// tracedServer serves a server (auth off) whose spans a recorder keeps.
func tracedServer(t *testing.T) (string, *tracetest.SpanRecorder) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec), sdktrace.WithSampler(sdktrace.AlwaysSample()))
	t.Cleanup(func() { _ = tp.Shutdown(t.Context()) })
	cfg := testConfig()
	cfg.DataDir = t.TempDir()
	cfg.Auth.Disabled = true
	return serve(t, cfg, WithTracerProvider(tp)), rec
}

// TestTracingPush pushes an image and reads the spans: one server span
// per request, named by method and route class, and none for probes.
func TestTracingPush(t *testing.T) {
	host, rec := tracedServer(t)
	pushAndPull(t, host+"/library/app:v1", 2048, 1)
	resp, err := http.Get("http://" + host + "/livez")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	names := map[string]int{}
	for _, s := range rec.Ended() {
		if s.SpanKind() == trace.SpanKindServer {
			names[s.Name()]++
		}
	}
	for _, want := range []string{"PUT manifest", "POST blob_upload", "HEAD blob"} {
		if names[want] == 0 {
			t.Errorf("no %q span; server spans: %v", want, names)
		}
	}
	for n := range names {
		if strings.Contains(n, "probe") {
			t.Errorf("a probe was traced: %v", names)
		}
	}
	// The metadata and storage calls a request makes are its children.
	byID := map[trace.SpanID]sdktrace.ReadOnlySpan{}
	for _, s := range rec.Ended() {
		byID[s.SpanContext().SpanID()] = s
	}
	children := map[string]map[string]int{} // server span name → child names
	for _, s := range rec.Ended() {
		if p, ok := byID[s.Parent().SpanID()]; ok && p.SpanKind() == trace.SpanKindServer {
			if children[p.Name()] == nil {
				children[p.Name()] = map[string]int{}
			}
			children[p.Name()][s.Name()]++
			if !s.StartTime().Before(s.EndTime()) && !s.StartTime().Equal(s.EndTime()) {
				t.Errorf("%s ends before it starts", s.Name())
			}
		}
	}
	if children["PUT manifest"]["meta.update"] == 0 {
		t.Errorf("the manifest PUT has no meta.update child: %v", children["PUT manifest"])
	}
	var storageUnderUpload int
	for server, kids := range children {
		if strings.HasSuffix(server, "blob_upload") {
			for k, n := range kids {
				if strings.HasPrefix(k, "storage.") {
					storageUnderUpload += n
				}
			}
		}
	}
	if storageUnderUpload == 0 {
		t.Errorf("no storage span under the uploads: %v", children)
	}
}

// TestTracingContinuesTraceparent: a request that carries W3C trace
// context is served in that trace, as a child of the caller's span.
func TestTracingContinuesTraceparent(t *testing.T) {
	host, rec := tracedServer(t)
	const traceID, parent = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	req, _ := http.NewRequest(http.MethodGet, "http://"+host+"/v2/", nil)
	req.Header.Set("traceparent", "00-"+traceID+"-"+parent+"-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var found bool
	for _, s := range rec.Ended() {
		if s.Name() != "GET v2_base" {
			continue
		}
		found = true
		if got := s.SpanContext().TraceID().String(); got != traceID {
			t.Errorf("trace %s, want the caller's %s", got, traceID)
		}
		if got := s.Parent().SpanID().String(); got != parent {
			t.Errorf("parent %s, want the caller's span %s", got, parent)
		}
	}
	if !found {
		t.Error("no GET v2_base span")
	}
}

// TestTracingJobsAndOutbound: a webhook delivery runs as a job span, and
// the receiver gets the W3C trace context of that span.
func TestTracingJobsAndOutbound(t *testing.T) {
	receiver := startReceiver(t, 200)
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec), sdktrace.WithSampler(sdktrace.AlwaysSample()))
	t.Cleanup(func() { _ = tp.Shutdown(t.Context()) })
	cfg := testConfig()
	cfg.DataDir = t.TempDir()
	cfg.Auth.AdminPassword = "admin-password"
	host := serve(t, cfg, WithTracerProvider(tp))
	must := adminCaller(t, "http://"+host+"/api/v2.0", "admin-password")
	must("POST", "/webhook/policies", `{"name":"traced","event_types":["PUSH_ARTIFACT"],"enabled":true,"targets":[{"type":"http","address":"`+receiver.url+`"}]}`, 201)
	ref, _ := name.ParseReference(host+"/library/app:v1", name.Insecure)
	img, _ := random.Image(512, 1)
	if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: "admin", Password: "admin-password"})); err != nil {
		t.Fatal(err)
	}
	eventually.True(t, "the delivery", func() bool { return receiver.count() == 1 })
	_, hdr := receiver.last()
	parts := strings.Split(hdr.Get("traceparent"), "-")
	if len(parts) != 4 {
		t.Fatalf("the delivery's traceparent %q", hdr.Get("traceparent"))
	}
	var job sdktrace.ReadOnlySpan
	eventually.True(t, "the job span ended", func() bool {
		for _, s := range rec.Ended() {
			if s.Name() == "job "+webhook.JobKind && s.SpanContext().TraceID().String() == parts[1] {
				job = s
				return true
			}
		}
		return false
	})
	var client sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.SpanKind() == trace.SpanKindClient && s.SpanContext().SpanID().String() == parts[2] {
			client = s
		}
	}
	if client == nil || client.Parent().SpanID() != job.SpanContext().SpanID() {
		t.Errorf("the traceparent names no client span under the job span (client %v)", client)
	}
}
