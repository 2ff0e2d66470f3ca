package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// hook is one delivery a test receiver got.
type hook struct {
	header http.Header
	body   []byte
}

// TestWebhookOnCranePush: a project webhook policy (created through the
// admin API) sends a crane push to a local receiver in Harbor's payload
// shape, signed with the Standard Webhooks HMAC, and to a CloudEvents
// receiver as a CloudEvent.
func TestWebhookOnCranePush(t *testing.T) {
	t.Parallel()
	admin := os.Getenv("BERTH_E2E_USER")
	if admin == "" {
		t.Skip("BERTH_E2E_USER is unset: webhooks are managed through the admin API")
	}
	e := newClientEnv(t)
	var mu sync.Mutex
	got := map[string][]hook{}
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got[r.URL.Path] = append(got[r.URL.Path], hook{r.Header.Clone(), b})
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()

	key := randBytes(t, 24)
	secret := "whsec_" + base64.StdEncoding.EncodeToString(key)
	api := adminAPI{t, "http://" + e.reg, admin, os.Getenv("BERTH_E2E_PASSWORD")}
	project := "hook-" + randHex(4)
	api.call("POST", "/projects", map[string]any{"project_name": project}, http.StatusCreated)
	api.call("POST", "/projects/"+project+"/webhook/policies", map[string]any{
		"name": project, "enabled": true, "event_types": []string{"PUSH_ARTIFACT"},
		"targets": []map[string]any{
			{"type": "http", "address": recv.URL + "/harbor", "auth_header": "Bearer e2e", "secret": secret},
			{"type": "http", "address": recv.URL + "/ce", "payload_format": "CloudEvents"},
		},
	}, http.StatusCreated)

	img := newImage(t, "amd64", 32<<10)
	layout := filepath.Join(t.TempDir(), "layout")
	writeImageLayout(t, layout, "v1", img)
	e.login(admin, os.Getenv("BERTH_E2E_PASSWORD"))
	start := time.Now().Unix()
	e.run("crane", "push", "--insecure", layout, e.ref(project+"/app", ":v1"))

	waitFor(t, "a default and a CloudEvents delivery", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got["/harbor"]) >= 1 && len(got["/ce"]) >= 1
	})
	mu.Lock()
	h, ce := got["/harbor"][0], got["/ce"][0]
	mu.Unlock()

	// The signature: v1,base64(HMAC-SHA256(key, id.timestamp.body)).
	id, ts := h.header.Get("webhook-id"), h.header.Get("webhook-timestamp")
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(h.body)
	wantSig := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if id == "" || h.header.Get("webhook-signature") != wantSig {
		t.Errorf("signature %q (id %q, timestamp %q), want %q", h.header.Get("webhook-signature"), id, ts, wantSig)
	}
	if sec, err := strconv.ParseInt(ts, 10, 64); err != nil || sec < start-5 || sec > time.Now().Unix()+5 {
		t.Errorf("webhook-timestamp %q", ts)
	}
	wantEqual(t, "Authorization", h.header.Get("Authorization"), "Bearer e2e")

	var p struct {
		Type      string `json:"type"`
		OccurAt   int64  `json:"occur_at"`
		Operator  string `json:"operator"`
		EventData struct {
			Resources []struct {
				Digest      string `json:"digest"`
				Tag         string `json:"tag"`
				ResourceURL string `json:"resource_url"`
			} `json:"resources"`
			Repository struct {
				DateCreated  int64  `json:"date_created"`
				Name         string `json:"name"`
				Namespace    string `json:"namespace"`
				RepoFullName string `json:"repo_full_name"`
				RepoType     string `json:"repo_type"`
			} `json:"repository"`
		} `json:"event_data"`
	}
	mustJSON(t, string(h.body), &p)
	wantEqual(t, "type", p.Type, "PUSH_ARTIFACT")
	wantEqual(t, "operator", p.Operator, admin)
	if p.OccurAt < start-5 || p.OccurAt > time.Now().Unix()+5 {
		t.Errorf("occur_at %d", p.OccurAt)
	}
	if len(p.EventData.Resources) != 1 {
		t.Fatalf("resources: %s", h.body)
	}
	r := p.EventData.Resources[0]
	wantEqual(t, "resources[0].digest", r.Digest, img.Digest)
	wantEqual(t, "resources[0].tag", r.Tag, "v1")
	wantEqual(t, "resources[0].resource_url", r.ResourceURL, e.reg+"/"+project+"/app:v1")
	repo := p.EventData.Repository
	wantEqual(t, "repository.name", repo.Name, "app")
	wantEqual(t, "repository.namespace", repo.Namespace, project)
	wantEqual(t, "repository.repo_full_name", repo.RepoFullName, project+"/app")
	wantEqual(t, "repository.repo_type", repo.RepoType, "private")
	if repo.DateCreated < start-5 {
		t.Errorf("repository.date_created %d", repo.DateCreated)
	}

	var event struct {
		SpecVersion string          `json:"specversion"`
		ID          string          `json:"id"`
		Source      string          `json:"source"`
		Type        string          `json:"type"`
		Subject     string          `json:"subject"`
		Time        time.Time       `json:"time"`
		ContentType string          `json:"datacontenttype"`
		Data        json.RawMessage `json:"data"`
	}
	mustJSON(t, string(ce.body), &event)
	wantEqual(t, "CloudEvents content type", ce.header.Get("Content-Type"), "application/cloudevents+json")
	wantEqual(t, "specversion", event.SpecVersion, "1.0")
	wantEqual(t, "ce type", event.Type, "harbor.artifact.pushed")
	wantEqual(t, "ce subject", event.Subject, project+"/app")
	wantEqual(t, "ce datacontenttype", event.ContentType, "application/json")
	if event.ID == "" || event.Source == "" || event.Time.IsZero() {
		t.Errorf("CloudEvent lacks id, source or time: %s", ce.body)
	}
	var data struct {
		Resources []struct {
			Digest string `json:"digest"`
		} `json:"resources"`
	}
	mustJSON(t, string(event.Data), &data)
	if len(data.Resources) != 1 || data.Resources[0].Digest != img.Digest {
		t.Errorf("CloudEvent data: %s", event.Data)
	}
}
