package naming_test

import (
	"fmt"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/registry/naming"
)

func Example() {
	fmt.Println(naming.ProjectOf("team/app/web"))
	d := digest.Digest("sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
	tags := naming.AttachmentTags(d)
	fmt.Println(tags[0])
	subject, ok := naming.AttachmentSubject(tags[0])
	fmt.Println(subject == d, ok)
	// Output:
	// team
	// sha256-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.sig
	// true true
}
