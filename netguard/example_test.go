package netguard_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"

	"github.com/berthreg/berth/netguard"
)

func Example() {
	// Outbound calls may reach the public internet and, as the operator
	// allows, one internal network and one internal host.
	g := netguard.New(
		netguard.AllowNetworks(netip.MustParsePrefix("10.20.0.0/16")),
		netguard.AllowHosts("trivy-adapter"),
	)
	client := &http.Client{Transport: g.Transport()}

	// The cloud metadata address is refused when it is dialed.
	_, err := client.Get("http://169.254.169.254/latest/meta-data/")
	fmt.Println(errors.Is(err, netguard.ErrForbiddenAddress))

	fmt.Println(g.CheckAddr(netip.MustParseAddr("10.20.3.4")))
	fmt.Println(g.CheckAddr(netip.MustParseAddr("::ffff:192.168.1.1")))
	// Output:
	// true
	// <nil>
	// netguard: forbidden address ::ffff:192.168.1.1 (private)
}
