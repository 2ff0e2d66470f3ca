package s3_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"

	"github.com/berthreg/berth/storage/s3"
)

// Example builds a driver for a MinIO server and round-trips an object. It
// needs a running server, so it has no Output comment and is only compiled;
// scripts/minio.sh starts one and sets the variables used here.
func Example() {
	ctx := context.Background()
	d, err := s3.New(ctx, s3.Config{
		Endpoint:      os.Getenv("BERTH_S3_ENDPOINT"), // "" for AWS S3
		Region:        "us-east-1",
		Bucket:        "berth-test",
		AccessKey:     os.Getenv("BERTH_S3_ACCESS_KEY"), // "" for the SDK's default chain
		SecretKey:     os.Getenv("BERTH_S3_SECRET_KEY"),
		RootDirectory: "registry",
	})
	if err != nil {
		log.Fatal(err)
	}

	w, err := d.Writer(ctx, "blobs/greeting", 0)
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close()
	io.WriteString(w, "hello, world")
	if err := w.Commit(ctx); err != nil {
		log.Fatal(err)
	}

	r, err := d.Reader(ctx, "blobs/greeting", 0)
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	b, _ := io.ReadAll(r)
	fmt.Println(string(b))
}
