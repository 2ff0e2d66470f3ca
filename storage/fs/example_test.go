package fs_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"

	"github.com/berthreg/berth/storage/fs"
)

// Example stores an object on disk, resumes it like an upload session, and
// moves it to its final path.
func Example() {
	dir, err := os.MkdirTemp("", "berth-fs-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	ctx := context.Background()
	d, err := fs.New(dir)
	if err != nil {
		log.Fatal(err)
	}

	w, err := d.Writer(ctx, "uploads/1/data", 0)
	if err != nil {
		log.Fatal(err)
	}
	io.WriteString(w, "hello, ")
	if err := w.Commit(ctx); err != nil { // fsynced and renamed into place
		log.Fatal(err)
	}
	w, err = d.Writer(ctx, "uploads/1/data", w.Size())
	if err != nil {
		log.Fatal(err)
	}
	io.WriteString(w, "world")
	if err := w.Commit(ctx); err != nil {
		log.Fatal(err)
	}

	if err := d.Move(ctx, "uploads/1/data", "blobs/greeting"); err != nil {
		log.Fatal(err)
	}
	f, err := d.Open(ctx, "blobs/greeting") // an *os.File, ready for http.ServeContent
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	b, _ := io.ReadAll(f)
	fmt.Println(string(b))

	names, _ := d.List(ctx, "", "", 0)
	fmt.Println(names) // the emptied uploads directory is gone
	// Output:
	// hello, world
	// [blobs]
}
