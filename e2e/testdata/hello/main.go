// Command hello is the whole content of the container image the e2e scripts
// build with `docker import` (no registry is reachable): a static binary that
// prints a greeting, or with -wait stays running until it is signalled.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	wait := flag.Bool("wait", false, "run until SIGTERM or SIGINT")
	flag.Parse()
	fmt.Println("hello from rdd e2e")
	if *wait {
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGTERM, syscall.SIGINT)
		<-c
	}
}
