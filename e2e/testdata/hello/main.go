// Command hello is the whole content of the container image the e2e scripts
// build with `docker import` (no registry is reachable): a static binary that
// prints a greeting, or with -wait stays running until it is signalled.
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	wait := flag.Bool("wait", false, "run until SIGTERM or SIGINT")
	serve := flag.String("serve", "", "serve the greeting over HTTP on this address (e.g. :8080) until killed")
	flag.Parse()
	fmt.Println("hello from rdd e2e")
	if *serve != "" {
		err := http.ListenAndServe(*serve, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprintln(w, "hello from rdd e2e")
		}))
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if *wait {
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGTERM, syscall.SIGINT)
		<-c
	}
}
