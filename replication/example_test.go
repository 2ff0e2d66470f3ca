package replication_test

import (
	"fmt"

	"github.com/berthreg/berth/replication"
)

func ExampleFilter() {
	f := replication.Filter{Repositories: []string{"team/**"}, Tags: []string{"v*"}, ExcludeTags: []string{"*-rc*"}}
	fmt.Println(f.Repository("team/app"), f.Tag("v1.2"), f.Tag("v1.3-rc1"), f.Repository("other/app"))
	// Output: true true false false
}
