package webhookconsumers

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// delivery is one request the receiver got, as it came.
type delivery struct {
	Method string
	URI    string // path and query
	Header http.Header
	Body   []byte
}

// request rebuilds the request for a consumer's handler, body unread.
func (d delivery) request() *http.Request {
	r := httptest.NewRequest(d.Method, d.URI, bytes.NewReader(d.Body))
	r.Header = d.Header.Clone()
	return r
}

// harborView is the part of a Default-format body the test itself reads
// to sort deliveries: type, repository and the resources' tags and
// digests (CloudEvents bodies have none of it).
type harborView struct {
	Type      string `json:"type"`
	EventData struct {
		Resources []struct {
			Digest string `json:"digest"`
			Tag    string `json:"tag"`
		} `json:"resources"`
		Repository struct {
			RepoFullName string `json:"repo_full_name"`
		} `json:"repository"`
	} `json:"event_data"`
}

// view reads d's body as Harbor's Default format.
func (d delivery) view() harborView {
	var v harborView
	_ = json.Unmarshal(d.Body, &v)
	return v
}

// receiver is a loopback HTTP server that records every request and
// answers 200, standing where each consumer's endpoint would be.
type receiver struct {
	url string
	mu  sync.Mutex
	got []delivery
}

func startReceiver(t *testing.T) *receiver {
	t.Helper()
	rc := &receiver{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, delivery{Method: r.Method, URI: r.URL.RequestURI(), Header: r.Header.Clone(), Body: body})
		rc.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	rc.url = srv.URL
	return rc
}

// at returns the deliveries received at uri (path and query), in order.
func (rc *receiver) at(uri string) []delivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []delivery
	for _, d := range rc.got {
		if d.URI == uri {
			out = append(out, d)
		}
	}
	return out
}

// find returns the Default-format deliveries at uri for an event of type
// typ on repository repo whose first resource has tag tag ("" for none).
func (rc *receiver) find(uri, typ, repo, tag string) []delivery {
	var out []delivery
	for _, d := range rc.at(uri) {
		v := d.view()
		if v.Type == typ && v.EventData.Repository.RepoFullName == repo && len(v.EventData.Resources) > 0 &&
			v.EventData.Resources[0].Tag == tag {
			out = append(out, d)
		}
	}
	return out
}
