package guestconfig

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Shell runs a command as root inside the guest.
type Shell interface {
	Run(ctx context.Context, stdin []byte, args ...string) ([]byte, error)
}

// Limactl is the Shell of a Lima instance: `limactl shell --workdir /
// NAME sudo ARGS...`. Lima quotes each argument for the guest's shell
// (cmd/limactl/shell.go), so arguments carry spaces safely.
type Limactl struct {
	Path     string        // the limactl binary
	Home     string        // LIMA_HOME
	Instance string        // the instance's name
	Env      []string      // extra environment
	Timeout  time.Duration // per command (default 2m)
}

// Run runs args in the guest as root and returns its standard output; a
// failure carries the command's standard error.
func (l Limactl) Run(ctx context.Context, stdin []byte, args ...string) ([]byte, error) {
	timeout := l.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	full := append([]string{"shell", "--workdir", "/", l.Instance, "sudo"}, args...)
	cmd := exec.CommandContext(ctx, l.Path, full...)
	cmd.Env = append(append(os.Environ(), "LIMA_HOME="+l.Home), l.Env...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return out.Bytes(), fmt.Errorf("`%s` in the guest did not finish within %s", strings.Join(args, " "), timeout)
		}
		msg := strings.TrimSpace(errb.String())
		if msg == "" {
			msg = strings.TrimSpace(out.String())
		}
		return out.Bytes(), fmt.Errorf("`%s` in the guest: %w: %s", strings.Join(args, " "), err, msg)
	}
	return out.Bytes(), nil
}
