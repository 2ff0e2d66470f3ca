package registrytest_test

import (
	"fmt"

	"github.com/berthreg/berth/registrytest"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Push a random image to a throw-away registry and pull it back by tag.
// In a test, registrytest.New(t) does the start and the cleanup.
func Example() {
	reg, err := registrytest.Start()
	if err != nil {
		panic(err)
	}
	defer reg.Close()

	img, err := random.Image(1024, 2)
	if err != nil {
		panic(err)
	}
	ref, err := name.ParseReference(reg.Host + "/example/app:v1")
	if err != nil {
		panic(err)
	}
	if err := remote.Write(ref, img); err != nil {
		panic(err)
	}
	pulled, err := remote.Image(ref)
	if err != nil {
		panic(err)
	}
	want, _ := img.Digest()
	got, _ := pulled.Digest()
	layers, _ := pulled.Layers()
	fmt.Println(got == want, len(layers))
	// Output: true 2
}
