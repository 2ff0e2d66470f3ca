module github.com/berthreg/berth

go 1.26

require (
	github.com/google/go-containerregistry v0.22.1 // indirect
	github.com/opencontainers/distribution-spec/specs-go v0.0.0-20260831232431-97274622c111 // indirect
	github.com/opencontainers/go-digest v1.0.0 // indirect
	github.com/opencontainers/image-spec v1.1.1 // indirect
	go.etcd.io/bbolt v1.5.0 // indirect
	golang.org/x/sys v0.47.0 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)
