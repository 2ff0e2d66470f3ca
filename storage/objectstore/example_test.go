package objectstore_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"strings"

	"github.com/berthreg/berth/storage/s3"
)

// Example_sessions uploads an object in chunks of any size through an upload
// session, persisting only the returned state between chunks, as the
// registry does for a chunked blob push. It uses the S3 adapter against the
// MinIO that scripts/minio.sh starts, so it has no Output comment and is
// only compiled.
func Example_sessions() {
	ctx := context.Background()
	d, err := s3.New(ctx, s3.Config{
		Endpoint:  os.Getenv("BERTH_S3_ENDPOINT"),
		Region:    "us-east-1",
		Bucket:    "berth-test",
		AccessKey: os.Getenv("BERTH_S3_ACCESS_KEY"),
		SecretKey: os.Getenv("BERTH_S3_SECRET_KEY"),
	})
	if err != nil {
		log.Fatal(err)
	}
	var state []byte // what an upload session record would hold
	for _, chunk := range []string{"tiny ", "chunks ", "of any size"} {
		w, err := d.SessionWriter(ctx, "uploads/example/data", state)
		if err != nil {
			log.Fatal(err)
		}
		if _, err := io.Copy(w, strings.NewReader(chunk)); err != nil {
			log.Fatal(err)
		}
		if state, err = w.Save(ctx); err != nil {
			log.Fatal(err)
		}
	}
	if err := d.CompleteSession(ctx, "uploads/example/data", state); err != nil {
		log.Fatal(err)
	}
	if err := d.Move(ctx, "uploads/example/data", "blobs/example"); err != nil {
		log.Fatal(err)
	}
	r, err := d.Reader(ctx, "blobs/example", 0)
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	b, _ := io.ReadAll(r)
	fmt.Println(string(b))
}
