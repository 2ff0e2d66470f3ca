package ratelimit_test

import (
	"fmt"

	"github.com/berthreg/berth/ratelimit"
)

// A limiter of token requests per client address: a burst of 2, then
// refused with how long to wait.
func Example() {
	rules, err := ratelimit.ParseRules("token:address=0.2/2")
	if err != nil {
		panic(err)
	}
	l, err := ratelimit.New(rules)
	if err != nil {
		panic(err)
	}
	key := ratelimit.AddressKey("192.0.2.7:41000")
	for range 3 {
		ok, retry := l.Allow(ratelimit.PerAddress, "token", key)
		fmt.Println(ok, retry.Round(1e9))
	}
	// Output:
	// true 0s
	// true 0s
	// false 5s
}
