package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rddproject/rdd/home"
	"github.com/rddproject/rdd/pidlock"
	"github.com/rddproject/rdd/schema"
	"github.com/rddproject/rdd/statusdir"
)

func (a *app) waitCommand() *cobra.Command {
	var timeout, daemonWait time.Duration
	var forFlag string
	cmd := &cobra.Command{
		Use: "wait [--timeout 5m] [--for ready|condition=TYPE[=STATUS]] [--daemon-wait 5s]",
		Example: `  rdd daemon & rdd wait
  rdd wait --timeout 30s
  rdd wait --for condition=ContainerEngineReady`,
		Short: "Wait for the verdict on the current desired file",
		Long: `Wait until the daemon has reconciled the desired file as it is now (its
digest): exit 0 when ready, 1 when failed (with the reason), 4 on timeout,
5 when no daemon runs (a daemon that is starting gets --daemon-wait to take
its lock and write status/app.yaml, so rdd daemon & rdd wait works). --for condition=TYPE[=STATUS] waits instead for a
condition of app.yaml (STATUS defaults to True) at the current generation.
If the file changes while waiting, the wait follows the new content and
says so.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			spec, err := parseFor(forFlag)
			if err != nil {
				return err
			}
			spec.timeout, spec.daemonWait = timeout, daemonWait
			h, err := a.home()
			if err != nil {
				return err
			}
			return a.wait(cmd.Context(), h, spec)
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, "give up after this long (exit 4)")
	cmd.Flags().StringVar(&forFlag, "for", "ready", "ready, or condition=TYPE[=STATUS]")
	cmd.Flags().DurationVar(&daemonWait, "daemon-wait", defaultDaemonWait, "how long a daemon that is starting may take to answer before exit 5")
	return cmd
}

// waitSpec says what a wait waits for.
type waitSpec struct {
	digest  string // digest whose verdict is awaited; "" means the file's current one
	condT   string // condition type, "" for the ready verdict
	condS   string // condition status awaited
	timeout time.Duration
	// daemonWait is how long a daemon that is starting may take to be up
	// (awaitDaemon) before the wait exits 5.
	daemonWait time.Duration
}

func (s waitSpec) what() string {
	if s.condT == "" {
		return "ready"
	}
	return fmt.Sprintf("condition %s=%s", s.condT, s.condS)
}

func parseFor(f string) (waitSpec, error) {
	if f == "ready" || f == "" {
		return waitSpec{}, nil
	}
	cond, ok := strings.CutPrefix(f, "condition=")
	if !ok || cond == "" {
		return waitSpec{}, withCode(ExitUsage, fmt.Errorf("--for %q: want ready or condition=TYPE[=STATUS]", f),
			"for example --for condition=ContainerEngineReady or --for condition=Running=False")
	}
	t, s, _ := strings.Cut(cond, "=")
	if s == "" {
		s = statusdir.True
	}
	switch s {
	case statusdir.True, statusdir.False, statusdir.Unknown:
	default:
		return waitSpec{}, withCode(ExitUsage, fmt.Errorf("--for %q: status must be True, False or Unknown", f))
	}
	return waitSpec{condT: t, condS: s}, nil
}

// fileDigest is the digest of the desired file's current bytes ("" when it
// cannot be read: missing, a directory...), the same value the daemon
// computes.
func fileDigest(path string) string {
	data, err := schema.ReadFile(path)
	if err != nil {
		return ""
	}
	return schema.Digest(data)
}

// wait blocks until the verdict of spec's digest (following the file if
// another writer changes it), watching status/ rather than polling. It
// starts watching before it reads, so no verdict written in between is
// missed.
func (a *app) wait(ctx context.Context, h home.Home, spec waitSpec) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if up, err := awaitDaemon(ctx, h, spec.daemonWait); err != nil {
		return err
	} else if !up {
		return notRunning(h)
	}
	want := spec.digest
	if want == "" {
		want = fileDigest(h.Desired)
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, spec.timeout)
	defer cancel()
	// A daemon killed outright (SIGKILL, OOM) writes nothing on its way
	// out, so no status event would end the wait. flock(2) release makes
	// no file event either: check the lock once a second instead.
	ctx, cancelGone := context.WithCancelCause(ctx)
	defer cancelGone(nil)
	go watchDaemon(ctx, h, cancelGone)
	p := &progress{out: a.stderr, tty: isTerminal(a.stderr)}
	var last statusdir.Snapshot
	var result error
	err := statusdir.Watch(ctx, h.Status(), func(s statusdir.Snapshot) (bool, error) {
		last = s
		if running, _, err := pidlock.Held(h.Lock()); err == nil && !running {
			result = withCode(ExitNoDaemon, errors.New("the rdd daemon stopped while waiting"), "start it with `rdd daemon`")
			return true, nil
		}
		p.show(s.App)
		done, err := decideWait(s, want, spec)
		if !done {
			// No verdict yet for the awaited content. If the file holds
			// other content now, the daemon may never judge the awaited one
			// (it reads only the last of quick edits): follow the file.
			if now := fileDigest(h.Desired); now != want {
				a.superseded(h, want, now)
				want = now
				done, err = decideWait(s, want, spec)
			}
		}
		result = err
		if done && err == nil && s.Ready != nil {
			a.readyGeneration = s.Ready.Generation
		}
		return done, nil
	})
	switch {
	case errors.Is(context.Cause(ctx), errDaemonGone):
		return withCode(ExitNoDaemon, errors.New("the rdd daemon stopped while waiting"), "start it with `rdd daemon`")
	case errors.Is(err, context.DeadlineExceeded):
		return timeoutError(spec, want, last, time.Since(start))
	case err != nil:
		return err
	}
	return result
}

var errDaemonGone = errors.New("daemon gone")

// watchDaemon cancels ctx with errDaemonGone when no daemon holds the lock.
func watchDaemon(ctx context.Context, h home.Home, cancel context.CancelCauseFunc) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if running, _, err := pidlock.Held(h.Lock()); err == nil && !running {
				cancel(errDaemonGone)
				return
			}
		}
	}
}

// superseded says that another writer changed the desired file during a
// wait, and what the wait follows now.
func (a *app) superseded(h home.Home, was, now string) {
	if now == "" {
		fmt.Fprintf(a.stderr, "rdd: %s was removed or made unreadable while waiting (another writer): the content awaited (%s) was superseded; waiting for the daemon's verdict on the missing file\n",
			h.Desired, shortDigest(was))
		return
	}
	fmt.Fprintf(a.stderr, "rdd: %s was changed by another writer while waiting: the content awaited (%s) was superseded by %s; waiting for the verdict on the newer content\n",
		h.Desired, shortDigest(was), shortDigest(now))
}

// decideWait reads one snapshot: done with nil (success) or an error with
// its exit code, or not done yet.
func decideWait(s statusdir.Snapshot, want string, spec waitSpec) (bool, error) {
	if s.App != nil && s.App.Summary == statusdir.SummaryUnknown {
		return false, nil // written by a daemon that stopped; a new one will rewrite it
	}
	if s.Failed != nil && s.Failed.Digest == want {
		// I3: a failure is final for this digest, whatever is awaited.
		return true, failedError(*s.Failed)
	}
	if spec.condT == "" {
		return s.Ready != nil && s.Ready.Digest == want, nil
	}
	app := s.App
	if app == nil || app.Desired.Digest != want {
		return false, nil
	}
	c, ok := statusdir.FindCondition(app.Conditions, spec.condT)
	return ok && c.Status == spec.condS && c.ObservedGeneration >= app.Desired.Generation, nil
}

// failedError is a failed marker as the CLI prints it. A driver puts its
// advice on "hint: " lines of the message: they are printed as rdd: hint:
// lines, and they replace the generic advice to fix the file, because the
// cause they name is not in the file (limactl missing, run as root).
func failedError(m statusdir.Marker) error {
	var lines, hints []string
	for _, line := range strings.Split(m.Message, "\n") {
		if h, ok := strings.CutPrefix(line, "hint: "); ok {
			hints = append(hints, h)
		} else {
			lines = append(lines, line)
		}
	}
	if len(hints) == 0 {
		hints = []string{"fix the cause and save the file again; `rdd status` shows the details"}
	} else {
		hints = append(hints, "the daemon retries on its own; `rdd status` shows the details")
	}
	return withCode(ExitFailed, fmt.Errorf("failed (%s, generation %d): %s", m.Reason, m.Generation, strings.Join(lines, "\n")), hints...)
}

// timeoutError names what was awaited, for which generation, how long,
// and the last state seen (S4).
func timeoutError(spec waitSpec, want string, last statusdir.Snapshot, waited time.Duration) error {
	gen := "not yet read by the daemon"
	seen := "no status written yet"
	if app := last.App; app != nil {
		if app.Desired.Digest == want {
			gen = fmt.Sprintf("generation %d", app.Desired.Generation)
		}
		typ := spec.condT
		if typ == "" {
			typ = statusdir.CondSettled
		}
		if c, ok := statusdir.FindCondition(app.Conditions, typ); ok {
			seen = fmt.Sprintf("%s=%s, reason %s: %s", c.Type, c.Status, c.Reason, firstLine(c.Message))
		} else {
			seen = fmt.Sprintf("no %s condition; summary %s", typ, app.Summary)
		}
	}
	return withCode(ExitTimeout, fmt.Errorf("timed out after %s waiting for %s of %s (%s); last seen: %s",
		waited.Round(time.Millisecond), spec.what(), gen, shortDigest(want), seen),
		"run `rdd status` to see every condition, or wait longer with --timeout")
}

// progress prints condition changes on a terminal, one line each.
type progress struct {
	out  io.Writer
	tty  bool
	seen map[string]string
}

func (p *progress) show(app *statusdir.App) {
	if !p.tty || app == nil {
		return
	}
	if p.seen == nil {
		p.seen = map[string]string{}
	}
	for _, c := range app.Conditions {
		line := strings.TrimSpace(fmt.Sprintf("%s=%s %s", c.Status, c.Reason, firstLine(c.Message)))
		if p.seen[c.Type] != line {
			p.seen[c.Type] = line
			fmt.Fprintf(p.out, "rdd: %s %s\n", c.Type, line)
		}
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&fs.ModeCharDevice != 0
}
