// Command limactl is the limactl test double of rdd's tests (see package
// double): build it and put it first on PATH, or point RDD_LIMACTL at it.
package main

import (
	"os"

	"github.com/rddproject/rdd/testscripts/limactl/double"
)

func main() {
	os.Exit(double.Main(os.Args[1:]))
}
