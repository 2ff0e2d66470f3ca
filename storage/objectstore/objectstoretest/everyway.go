package objectstoretest

import (
	"testing"

	"github.com/berthreg/berth/storage/objectstore"
)

// WriteEveryWay stores an object by every path the Driver writes through
// and returns their paths: one Put ("small"), a multipart upload ("big"),
// an upload session completed as a multipart upload and then moved by
// multipart copy ("copied"), and a server-side CopyObject ("moved"). For
// the multipart copy, d's MaxCopySize must be below 7 MiB. An adapter test
// uses it to check per-object settings, such as server-side encryption,
// on everything the driver can produce.
func WriteEveryWay(t *testing.T, d *objectstore.Driver) []string {
	t.Helper()
	ctx := t.Context()
	putObject(t, d, "small", 0, pattern(1, 1000))
	putObject(t, d, "big", 0, pattern(2, 17<<20))
	sw, err := d.SessionWriter(ctx, "sess", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sw.Close()
	if _, err := sw.Write(pattern(3, 7<<20)); err != nil {
		t.Fatal(err)
	}
	state, err := sw.Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.CompleteSession(ctx, "sess", state); err != nil {
		t.Fatal(err)
	}
	if err := d.Move(ctx, "sess", "copied"); err != nil {
		t.Fatalf("Move (multipart copy): %v", err)
	}
	putObject(t, d, "tocopy", 0, pattern(4, 3000))
	if err := d.Move(ctx, "tocopy", "moved"); err != nil {
		t.Fatalf("Move (CopyObject): %v", err)
	}
	return []string{"small", "big", "copied", "moved"}
}
