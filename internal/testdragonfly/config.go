package testdragonfly

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"gopkg.in/yaml.v3"
)

// The addresses inside the test's network namespace. The namespace is
// the test's alone (nothing else listens there), so fixed ports are free
// by construction.
const (
	// HostIP is the namespace's global-unicast address (RFC 2544's
	// benchmarking range, on the namespace's loopback interface): what the
	// Dragonfly processes advertise, and where Serve listens.
	HostIP = "198.18.0.1"

	redisAddr       = "127.0.0.1:6379"
	postgresAddr    = "127.0.0.1:5432" // a forwarder to BERTH_TEST_POSTGRES_DSN's server
	managerREST     = 8080
	managerGRPC     = 65003
	schedulerPort   = 8002
	seedPeerRPC     = 65000
	seedPeerProxy   = 65001
	seedPeerUpload  = 65002
	seedPeerHealth  = 40901
	seedPeerName    = "berth-seed-peer"
	schedulerName   = "berth-scheduler"
	clusterID       = 1                              // the manager seeds scheduler and seed peer cluster 1
	jwtKeyBase64    = "YmVydGgtdGVzdGRyYWdvbmZseQ==" // any key: the manager signs its console's JWTs with it
	placeholderPass = "unused-with-trust-auth"       // the manager requires one; scripts/postgres.sh trusts
)

// database is the manager's PostgreSQL database, as reached from the
// namespace.
type database struct {
	user, password, name string
}

// writeYAML writes v as YAML to dir/name and returns the path.
func writeYAML(dir, name string, v any) (string, error) {
	b, err := yaml.Marshal(v)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, name)
	return path, os.WriteFile(path, b, 0o600)
}

// dirs makes dir/<each of names> and returns them by name.
func dirs(dir string, names ...string) (map[string]string, error) {
	out := map[string]string{}
	for _, n := range names {
		p := filepath.Join(dir, n)
		if err := os.MkdirAll(p, 0o700); err != nil {
			return nil, err
		}
		out[n] = p
	}
	return out, nil
}

// managerConfig is the manager's configuration (manager/config/config.go
// and deploy/docker-compose/template/manager.template.yaml of
// d7y.io/dragonfly/v2 v2.3.0): REST on every address of the namespace,
// PostgreSQL through the forwarder, Redis, and caches of one second, so
// the scheduler sees the seed peer as soon as it has registered (the
// manager caches its answer to the scheduler's dynamic-config request,
// seed peers included, for five minutes by default).
func managerConfig(dir string, db database) (string, error) {
	d, err := dirs(dir, "log", "cache", "plugin")
	if err != nil {
		return "", err
	}
	host, port, _ := net.SplitHostPort(postgresAddr)
	pgPort, _ := strconv.Atoi(port)
	return writeYAML(dir, "manager.yaml", map[string]any{
		"server": map[string]any{
			"name": "berth-test-manager",
			"grpc": map[string]any{
				"advertiseIP": HostIP,
				"listenIP":    "0.0.0.0",
				"port":        map[string]any{"start": managerGRPC, "end": managerGRPC},
			},
			"rest":      map[string]any{"addr": fmt.Sprintf("0.0.0.0:%d", managerREST)},
			"logDir":    d["log"],
			"cacheDir":  d["cache"],
			"pluginDir": d["plugin"],
		},
		"auth": map[string]any{"jwt": map[string]any{
			"realm": "Dragonfly", "key": jwtKeyBase64, "timeout": "1h", "maxRefresh": "1h",
		}},
		"database": map[string]any{
			"type": "postgres",
			"postgres": map[string]any{
				"user": db.user, "password": db.password, "host": host, "port": pgPort,
				"dbname": db.name, "sslMode": "disable", "timezone": "UTC", "migrate": true,
			},
			"redis": map[string]any{"addrs": []string{redisAddr}, "db": 0, "brokerDB": 1, "backendDB": 2},
		},
		"cache": map[string]any{
			"redis": map[string]any{"ttl": "1s"},
			"local": map[string]any{"size": 1000, "ttl": "1s"},
		},
		"job": map[string]any{
			// The default lets a handful of jobs a minute through; a test
			// may make more.
			"rateLimit": map[string]any{"fillInterval": "1m", "capacity": 1000, "quantum": 1000},
			"preheat":   map[string]any{"registryTimeout": "1m"},
			"syncPeers": map[string]any{"interval": "24h", "timeout": "10m"},
			"gc":        map[string]any{"interval": "24h", "ttl": "24h"},
		},
		"metrics": map[string]any{"enable": false},
		"console": true,
	})
}

// schedulerConfig is the scheduler's (scheduler/config/config.go and
// scheduler.template.yaml of v2.3.0): cluster 1, seed peers on, the job
// worker that takes preheats from Redis on, a dynamic config refreshed
// every second (it hands the seed peers it finds on every ten seconds:
// scheduler/config/dynconfig.go watchInterval), and a keep-alive every
// second, which makes it active in the manager.
func schedulerConfig(dir string) (string, error) {
	d, err := dirs(dir, "log", "cache", "plugin", "data")
	if err != nil {
		return "", err
	}
	return writeYAML(dir, "scheduler.yaml", map[string]any{
		"server": map[string]any{
			"advertiseIP": HostIP,
			"listenIP":    "0.0.0.0",
			"port":        schedulerPort,
			"host":        schedulerName,
			"logDir":      d["log"],
			"cacheDir":    d["cache"],
			"pluginDir":   d["plugin"],
			"dataDir":     d["data"],
		},
		"database": map[string]any{
			"redis": map[string]any{"addrs": []string{redisAddr}, "brokerDB": 1, "backendDB": 2},
		},
		"dynConfig": map[string]any{"refreshInterval": "1s"},
		"manager": map[string]any{
			"addr":               fmt.Sprintf("127.0.0.1:%d", managerGRPC),
			"schedulerClusterID": clusterID,
			"keepAlive":          map[string]any{"interval": "1s"},
		},
		"seedPeer": map[string]any{"enable": true},
		"job": map[string]any{
			"enable": true, "globalWorkerNum": 4, "schedulerWorkerNum": 4, "localWorkerNum": 4,
		},
		"metrics": map[string]any{"enable": false},
		"console": true,
	})
}

// seedPeerConfig is the seed peer's, a `dfget daemon` (client/config/
// peerhost.go and build/package/nfpm/config/dfget.yaml of v2.3.0): a
// super seed peer of cluster 1 that finds its scheduler through the
// manager and is active there after its first keep-alive (every second),
// every port fixed, every directory in dir.
func seedPeerConfig(dir string) (string, error) {
	d, err := dirs(dir, "work", "cache", "log", "data", "plugin")
	if err != nil {
		return "", err
	}
	insecure := map[string]any{"insecure": true}
	tcp := func(listen string, port int) map[string]any {
		return map[string]any{"listen": listen, "port": map[string]any{"start": port, "end": port}}
	}
	return writeYAML(dir, "dfget.yaml", map[string]any{
		"aliveTime":   "0s",
		"gcInterval":  "1m",
		"keepStorage": false,
		"workHome":    d["work"],
		"cacheDir":    d["cache"],
		"logDir":      d["log"],
		"dataDir":     d["data"],
		"pluginDir":   d["plugin"],
		"console":     true,
		"scheduler": map[string]any{
			"manager": map[string]any{
				"enable":          true,
				"netAddrs":        []map[string]any{{"type": "tcp", "addr": fmt.Sprintf("127.0.0.1:%d", managerGRPC)}},
				"refreshInterval": "5s",
				"seedPeer": map[string]any{
					"enable": true, "type": "super", "clusterID": clusterID,
					"keepAlive": map[string]any{"interval": "1s"},
				},
			},
			"scheduleTimeout": "30s",
		},
		"host": map[string]any{"hostname": seedPeerName, "advertiseIP": HostIP},
		"download": map[string]any{
			"downloadGRPC": map[string]any{
				"security":   insecure,
				"unixListen": map[string]any{"socket": filepath.Join(d["work"], "dfdaemon.sock")},
			},
			"peerGRPC": map[string]any{"security": insecure, "tcpListen": tcp("0.0.0.0", seedPeerRPC)},
		},
		"upload": map[string]any{"security": insecure, "tcpListen": tcp("0.0.0.0", seedPeerUpload)},
		"proxy":  map[string]any{"security": insecure, "tcpListen": tcp("127.0.0.1", seedPeerProxy)},
		"health": map[string]any{"security": insecure, "tcpListen": tcp("127.0.0.1", seedPeerHealth), "path": "/server/ping"},
	})
}
