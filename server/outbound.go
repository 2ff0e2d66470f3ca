package server

import (
	"fmt"

	"github.com/berthreg/berth/netguard"
)

// OutboundConfig guards the server's outbound calls: webhook deliveries,
// replication endpoints and scanner adapters reach public addresses only
// (no loopback, private, link-local, cloud metadata or other internal
// address, checked on the address dialed), unless Allow lists them.
type OutboundConfig struct {
	// Allow lists the internal hosts (names), addresses and networks
	// (CIDR) outbound calls may reach, e.g. [10.0.0.0/8, trivy-adapter];
	// empty, the default, allows none (BERTH_OUTBOUND_ALLOW,
	// comma-separated).
	Allow []string `yaml:"allow"`
}

// guard is the outbound allow-list as a netguard.Guard.
func (c OutboundConfig) guard() (*netguard.Guard, error) {
	g, err := netguard.Parse(c.Allow...)
	if err != nil {
		return nil, fmt.Errorf("config: outbound.allow: %w", err)
	}
	return g, nil
}
