package fillcache_test

import (
	"fmt"

	"github.com/berthreg/berth/internal/fillcache"
)

func Example() {
	settings := fillcache.New[string, string](100)
	read := func(project string) string { return "settings of " + project } // a store read

	epoch := settings.Epoch() // before reading
	v := read("team")
	settings.Put(epoch, "team", v)
	cached, ok := settings.Get("team")
	fmt.Println(cached, ok)

	epoch = settings.Epoch()
	v = read("team")
	settings.Reset() // a change committed meanwhile
	fmt.Println(settings.Put(epoch, "team", v))
	// Output:
	// settings of team true
	// false
}
