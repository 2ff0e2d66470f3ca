package oss_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"github.com/berthreg/berth/storage/oss"
)

// Example builds a driver for an OSS bucket reached over the region's
// internal endpoint, round-trips an object and hands out a presigned URL
// for it. It needs a real bucket and credentials, so it has no Output
// comment and is only compiled.
func Example() {
	ctx := context.Background()
	d, err := oss.New(ctx, oss.Config{
		AccessKeyID:     os.Getenv("OSS_ACCESS_KEY_ID"),
		AccessKeySecret: os.Getenv("OSS_ACCESS_KEY_SECRET"),
		Region:          "cn-hangzhou",
		Internal:        true, // oss-cn-hangzhou-internal.aliyuncs.com, from an ECS host in the region
		Bucket:          "berth-registry",
		Encrypt:         true,
		RootDirectory:   "registry",
		RedirectExpiry:  20 * time.Minute,
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

	// What a blob pull would redirect the client to.
	u, err := d.RedirectURL(ctx, nil, "blobs/greeting")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(u)
}
