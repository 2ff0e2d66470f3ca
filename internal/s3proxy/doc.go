// Package s3proxy is a test helper: a reverse proxy on 127.0.0.1 in front
// of a real S3-compatible server (the MinIO of scripts/minio.sh) that
// classifies every request by S3 operation, counts requests and body bytes
// per operation, and can answer chosen requests with an injected error
// instead of forwarding them. Tests use it to prove what traffic a driver
// causes (no byte uploaded twice, none read back) and that transient 5xx and
// 429 answers are retried.
//
// It forwards requests unchanged, Host header included, so signatures
// computed for the proxy's address still verify at the server.
package s3proxy
