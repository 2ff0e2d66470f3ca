package testkraken

import "path/filepath"

// The configurations follow Kraken v0.1.4's own (config/<component>/
// base.yaml and examples/devcluster/config/<component>/development.yaml
// in github.com/uber/kraken), with every path in the test's directory,
// every address on 127.0.0.1, TLS off between the components (they speak
// plain HTTP to each other and to the registry), and metrics off
// (Kraken's default when no backend is named). Start adds the zap, tls
// and nginx sections.

// backendSecurity is the registry backends' security section. Anonymous:
// TLS disabled, which makes Kraken's backend send plain HTTP with no
// credentials (lib/backend/registrybackend/security/security.go returns
// before looking at any). With credentials: TLS enabled and the fallback
// to HTTP on, so each request is tried over HTTPS first, fails its
// handshake with the plain-HTTP registry, and is sent again over HTTP,
// with the basic or token credentials the registry's challenge asks for.
func backendSecurity(s settings) map[string]any {
	if s.user == "" {
		return map[string]any{"tls": map[string]any{"client": map[string]any{"disabled": true}}}
	}
	return map[string]any{
		"basic":              map[string]any{"username": s.user, "password": s.password},
		"enableHTTPFallback": true,
	}
}

// registryBackends routes every namespace (repository) to the registry.
func registryBackends(kind, registryHost string, security map[string]any) []any {
	return []any{map[string]any{
		"namespace": ".*",
		"backend":   map[string]any{kind: map[string]any{"address": registryHost, "security": security}},
	}}
}

// retries is the persisted-retry settings of the devcluster example.
func retries() map[string]any {
	return map[string]any{"retry_interval": "100ms", "poll_retries_interval": "250ms"}
}

func originConfig(root, registryHost, origin string, security map[string]any) map[string]any {
	dir := filepath.Join(root, "origin")
	return map[string]any{
		"peer_id_factory": "addr_hash",
		"metainfogen":     map[string]any{"piece_lengths": map[int]string{0: "4MB"}},
		"scheduler": map[string]any{
			"log":        map[string]any{"timeEncoder": "iso8601"},
			"torrentlog": map[string]any{"disable": true},
		},
		"localdb":    map[string]any{"source": filepath.Join(dir, "origin.db")},
		"castore":    map[string]any{"upload_dir": filepath.Join(dir, "upload") + "/", "cache_dir": filepath.Join(dir, "cache") + "/"},
		"blobserver": map[string]any{"listener": map[string]any{"net": "unix", "addr": filepath.Join(dir, "blobserver.sock")}},
		"backends":   registryBackends("registry_blob", registryHost, security),
		"cluster":    map[string]any{"static": []string{origin}},
		"hashring":   map[string]any{"max_replica": 1},
		"writeback":  retries(),
	}
}

func buildIndexConfig(root, registryHost, origin, buildIndex string, security map[string]any) map[string]any {
	dir := filepath.Join(root, "build-index")
	return map[string]any{
		"localdb":         map[string]any{"source": filepath.Join(dir, "index.db")},
		"store":           map[string]any{"upload_dir": filepath.Join(dir, "upload") + "/", "cache_dir": filepath.Join(dir, "cache") + "/"},
		"tag_store":       map[string]any{"write_through": false},
		"backends":        registryBackends("registry_tag", registryHost, security),
		"tagserver":       map[string]any{"listener": map[string]any{"net": "unix", "addr": filepath.Join(dir, "tagserver.sock")}},
		"remotes":         map[string]any{},
		"tag_replication": retries(),
		"tag_types":       []any{map[string]any{"namespace": ".*", "type": "docker", "root": "tags"}},
		"origin":          map[string]any{"hosts": map[string]any{"static": []string{origin}}},
		"cluster":         map[string]any{"hosts": map[string]any{"static": []string{buildIndex}}},
		"writeback":       retries(),
	}
}

func proxyConfig(root, origin, buildIndex string) map[string]any {
	dir := filepath.Join(root, "proxy")
	return map[string]any{
		"castore": map[string]any{"upload_dir": filepath.Join(dir, "upload") + "/", "cache_dir": filepath.Join(dir, "cache") + "/",
			"capacity": 1024},
		"registry": map[string]any{"docker": map[string]any{
			"version": "0.1",
			"log":     map[string]any{"level": "error"},
			"http":    map[string]any{"net": "unix", "addr": filepath.Join(dir, "registry.sock")},
		}},
		"registryoverride": map[string]any{"listener": map[string]any{"net": "unix", "addr": filepath.Join(dir, "override.sock")}},
		"origin":           map[string]any{"hosts": map[string]any{"static": []string{origin}}},
		"build_index":      map[string]any{"hosts": map[string]any{"static": []string{buildIndex}}},
	}
}

// zapConfig is Kraken's logging configuration (base.yaml's) to stdout,
// which Start sends to the component's log file.
func zapConfig() map[string]any {
	return map[string]any{
		"level":             "info",
		"encoding":          "console",
		"disableStacktrace": true,
		"encoderConfig": map[string]any{
			"messageKey": "message", "nameKey": "logger_name", "levelKey": "level", "timeKey": "ts",
			"callerKey": "caller", "stacktraceKey": "stack", "levelEncoder": "capital",
			"timeEncoder": "iso8601", "durationEncoder": "seconds", "callerEncoder": "short",
		},
		"outputPaths":      []string{"stdout"},
		"errorOutputPaths": []string{"stdout"},
	}
}

// nginxTemplates replace Kraken's own site templates (nginx/config/
// origin.go, build-index.go, proxy.go) only to listen on 127.0.0.1 rather
// than every interface; Kraken still wraps them in its base template and
// runs nginx itself. The parameters are the ones Kraken passes: port or
// ports, the upstream server(s), log_dir.
var nginxTemplates = map[string]string{
	"origin":      upstreamSite,
	"build-index": upstreamSite,
	"proxy": `
upstream registry {
  server {{.registry_server}};
}
upstream registry-override {
  server {{.registry_override_server}};
}
{{range .ports}}
server {
  listen 127.0.0.1:{{.}};
  client_max_body_size 10G;
  access_log {{$.log_dir}}/nginx-access.log;
  error_log {{$.log_dir}}/nginx-error.log;
  proxy_read_timeout 3m;
  location /v2/_catalog {
    proxy_pass http://registry-override;
  }
  location / {
    proxy_pass http://registry;
    proxy_set_header Host $host:{{.}};
  }
}
{{end}}
`,
}

const upstreamSite = `
server {
  listen 127.0.0.1:{{.port}};
  client_max_body_size 10G;
  access_log {{.log_dir}}/nginx-access.log;
  error_log {{.log_dir}}/nginx-error.log;
  location / {
    proxy_pass http://{{.server}};
  }
}
`
