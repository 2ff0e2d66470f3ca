// Command gobin is a small Go program the builtin scanner's tests build
// and put in an image layer: its build info names the module it uses.
package main

import (
	"fmt"

	"github.com/google/uuid"
)

func main() { fmt.Println(uuid.NewString()) }
