// Command hello is the whole content of the container image the e2e scripts
// build with `docker import` (no registry is reachable): a static binary that
// prints a greeting, or with -wait stays running until it is signalled.
// -write FILE=TEXT writes TEXT to FILE (fsynced) unless FILE exists, so a
// container restarted after a crash keeps what its first run wrote; -cat
// FILE prints FILE.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	wait := flag.Bool("wait", false, "run until SIGTERM or SIGINT")
	write := flag.String("write", "", "FILE=TEXT: write TEXT to FILE unless it exists")
	cat := flag.String("cat", "", "print FILE")
	serve := flag.String("serve", "", "serve the greeting over HTTP on this address (e.g. :8080) until killed")
	flag.Parse()
	if *cat != "" {
		b, err := os.ReadFile(*cat)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Stdout.Write(b)
		return
	}
	fmt.Println("hello from rdd e2e")
	if *write != "" {
		if err := writeOnce(*write); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
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

func writeOnce(spec string) error {
	file, text, ok := strings.Cut(spec, "=")
	if !ok {
		return fmt.Errorf("-write %q: want FILE=TEXT", spec)
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
