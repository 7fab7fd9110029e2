// Command rdd runs a local container engine from one declarative file.
package main

import (
	"os"

	"github.com/rddproject/rdd/cli"
)

func main() { os.Exit(cli.Main()) }
