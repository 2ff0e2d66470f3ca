// Command minimal is the smallest embedding of Berth: a registry on local
// disk with bbolt metadata, served by the host's own http.Server.
package main

import (
	"log"
	"net/http"

	"github.com/berthreg/berth/meta/bolt"
	"github.com/berthreg/berth/registry"
	"github.com/berthreg/berth/storage/fs"
)

func main() {
	driver, err := fs.New("./data/storage")
	if err != nil {
		log.Fatal(err)
	}
	store, err := bolt.Open("./data/meta.db")
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	h, err := registry.New(driver, store)
	if err != nil {
		log.Fatal(err)
	}
	log.Println("minimal registry on 127.0.0.1:5000")
	log.Fatal(http.ListenAndServe("127.0.0.1:5000", h))
}
