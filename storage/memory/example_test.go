package memory_test

import (
	"context"
	"fmt"
	"io"

	"github.com/berthreg/berth/storage/memory"
)

// Example writes an object in two resumable chunks, as an upload session
// does, and reads it back.
func Example() {
	ctx := context.Background()
	d := memory.New()

	w, _ := d.Writer(ctx, "uploads/1/data", 0)
	io.WriteString(w, "hello, ")
	w.Commit(ctx)

	w, _ = d.Writer(ctx, "uploads/1/data", w.Size())
	io.WriteString(w, "world")
	w.Commit(ctx)

	if err := d.Move(ctx, "uploads/1/data", "blobs/greeting"); err != nil {
		fmt.Println(err)
		return
	}
	r, _ := d.Reader(ctx, "blobs/greeting", 0)
	defer r.Close()
	b, _ := io.ReadAll(r)
	fmt.Println(string(b))
	names, _ := d.List(ctx, "", "", 0)
	fmt.Println(names)
	// Output:
	// hello, world
	// [blobs]
}
