package lima

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

// rootRefusal is what limactl says when run as root.
const rootRefusal = "must not run as the root user"

// runner runs limactl with LIMA_HOME set to the managed home.
type runner struct {
	path string   // resolved limactl binary
	home string   // LIMA_HOME
	env  []string // extra environment
	// procs, when set, tracks the running commands (Driver.Close kills
	// what is left of them).
	procs *procSet
}

// cmdError is a limactl invocation that failed: its exit, its own stderr
// lines, and whether it ran out of time.
type cmdError struct {
	Args     []string
	Err      error // *exec.ExitError, context error, or start error
	Stderr   string
	TimedOut time.Duration // > 0: killed after this long
}

func (e *cmdError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "limactl %s", strings.Join(e.Args, " "))
	switch {
	case e.TimedOut > 0:
		fmt.Fprintf(&b, " did not finish within %s", e.TimedOut)
	default:
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	if lines := quoteLines(e.Stderr); lines != "" {
		b.WriteString("; limactl said:\n")
		b.WriteString(lines)
	}
	return b.String()
}

func (e *cmdError) Unwrap() error { return e.Err }

// rootRefused reports whether limactl refused to run as root.
func (e *cmdError) rootRefused() bool { return strings.Contains(e.Stderr, rootRefusal) }

// maxQuoted bounds how many of limactl's stderr lines a message quotes.
const maxQuoted = 8

// quoteLines picks the lines of limactl's stderr worth showing a user: its
// error and fatal lines when it has any (logrus text or JSON), else its
// last lines; each indented by two spaces.
func quoteLines(stderr string) string {
	var all, errs []string
	for line := range strings.Lines(stderr) {
		line = strings.TrimRight(line, "\r\n")
		if strings.TrimSpace(line) == "" {
			continue
		}
		if len(line) > 600 {
			line = line[:600] + "..."
		}
		all = append(all, line)
		if strings.Contains(line, "level=error") || strings.Contains(line, "level=fatal") ||
			strings.Contains(line, `"level":"error"`) || strings.Contains(line, `"level":"fatal"`) {
			errs = append(errs, line)
		}
	}
	pick := all
	if len(errs) > 0 {
		pick = errs
	}
	if len(pick) > maxQuoted {
		pick = pick[len(pick)-maxQuoted:]
	}
	for i, l := range pick {
		pick[i] = "  " + l
	}
	return strings.Join(pick, "\n")
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.buf) }

// run runs limactl with args, killing it (and its process group) when ctx
// ends or timeout passes (timeout 0: none). It returns stdout; a failure
// is a *cmdError.
func (r *runner) run(ctx context.Context, timeout time.Duration, stdin io.Reader, args ...string) ([]byte, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	if err := os.MkdirAll(r.home, 0o700); err != nil {
		return nil, &cmdError{Args: args, Err: fmt.Errorf("create LIMA_HOME: %w", err)}
	}
	cmd := exec.CommandContext(ctx, r.path, args...)
	cmd.Env = append(append(os.Environ(), "LIMA_HOME="+r.home), r.env...)
	cmd.Stdin = stdin
	var stdout bytes.Buffer
	stderr := &tailBuffer{max: 64 << 10}
	cmd.Stdout = &stdout
	cmd.Stderr = stderr
	ownProcessGroup(cmd)
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Start()
	if err == nil {
		r.procs.add(cmd.Process)
		err = cmd.Wait()
		r.procs.remove(cmd.Process)
	}
	if err == nil {
		return stdout.Bytes(), nil
	}
	ce := &cmdError{Args: args, Err: err, Stderr: stderr.String()}
	if ctxErr := ctx.Err(); ctxErr != nil {
		ce.Err = ctxErr
		if errors.Is(ctxErr, context.DeadlineExceeded) && timeout > 0 {
			ce.TimedOut = timeout
		}
	}
	return nil, ce
}

// instance is one entry of `limactl list --json`: the fields rdd reads,
// which Lima 1.x and 2.x both print.
type instance struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	Dir    string `json:"dir"`
	VMType string `json:"vmType"`
	Arch   string `json:"arch"`
	CPUs   int    `json:"cpus"`
	Memory int64  `json:"memory"` // bytes
	Disk   int64  `json:"disk"`   // bytes
}

// Lima's instance statuses that rdd acts on.
const (
	statusRunning = "Running"
	statusStopped = "Stopped"
	statusBroken  = "Broken"
)

// parseList reads `limactl list --json` output: one JSON object per line
// (Lima 1.x and 2.x), or, to be lenient, one JSON array.
func parseList(out []byte) ([]instance, error) {
	trimmed := bytes.TrimSpace(out)
	if len(trimmed) == 0 {
		return nil, nil
	}
	if trimmed[0] == '[' {
		var list []instance
		if err := json.Unmarshal(trimmed, &list); err != nil {
			return nil, fmt.Errorf("parse limactl list --json output: %w", err)
		}
		return list, nil
	}
	var list []instance
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	for dec.More() {
		var in instance
		if err := dec.Decode(&in); err != nil {
			return nil, fmt.Errorf("parse limactl list --json output: %w", err)
		}
		list = append(list, in)
	}
	return list, nil
}

// formatBytes renders a byte count the way desired.yaml writes sizes.
func formatBytes(n int64) string {
	switch {
	case n <= 0:
		return ""
	case n%(1<<40) == 0:
		return fmt.Sprintf("%dTiB", n>>40)
	case n%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", n>>30)
	case n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	}
	return fmt.Sprintf("%dB", n)
}
