package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/rddproject/rdd/confirm"

	"github.com/spf13/cobra"

	"github.com/rddproject/rdd/desired"
	"github.com/rddproject/rdd/dockerctx"
	"github.com/rddproject/rdd/history"
	"github.com/rddproject/rdd/home"
	"github.com/rddproject/rdd/pidlock"
	"github.com/rddproject/rdd/reconciler"
	"github.com/rddproject/rdd/reconciler/docker"
	"github.com/rddproject/rdd/reconciler/host"
	"github.com/rddproject/rdd/reconciler/lima"
	"github.com/rddproject/rdd/schema"
	"github.com/rddproject/rdd/statusdir"
	"github.com/rddproject/rdd/watch"
)

type daemonFlags struct {
	resync       time.Duration
	grace        time.Duration
	debounce     time.Duration
	logFormat    string
	startTimeout time.Duration
	logLevel     string
	// vms replaces the VM drivers of this build (tests).
	vms map[string]reconciler.VM
}

func (a *app) daemonCommand() *cobra.Command {
	var f daemonFlags
	cmd := &cobra.Command{
		Use:     "daemon",
		Example: "  rdd daemon &\n  rdd daemon --log-format json --log-level debug\n  rdd --home ~/.rd-test daemon",
		Short:   "Run the reconciler in the foreground",
		Long: `Run the reconciler in the foreground: watch the desired file and the
fragments of HOME/desired.d/, bring the VM and its container engine to
match, and write what is observed under HOME/status/. One daemon runs per home. SIGINT or SIGTERM stops it within
2 s, leaving the VM as it is and marking the status not current.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			h, err := a.home()
			if err != nil {
				return err
			}
			return a.runDaemon(cmd.Context(), h, f)
		},
	}
	fl := cmd.Flags()
	fl.DurationVar(&f.resync, "resync", 5*time.Minute, "full pass at least this often")
	fl.DurationVar(&f.grace, "engine-grace", 2*time.Minute, "how long the engine may stay Connecting before the verdict is failed")
	fl.DurationVar(&f.debounce, "debounce", watch.DefaultDebounce, "quiet time after a change to the desired file before acting")
	fl.DurationVar(&f.startTimeout, "vm-start-timeout", 10*time.Minute, "how long a VM start may take before it is StartFailed")
	fl.StringVar(&f.logFormat, "log-format", "text", "text or json")
	fl.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	return cmd
}

func (a *app) runDaemon(ctx context.Context, h home.Home, f daemonFlags) error {
	if ctx == nil {
		ctx = context.Background()
	}
	lock, err := pidlock.Acquire(h.Lock())
	if err != nil {
		if errors.Is(err, pidlock.ErrHeld) {
			return withCode(ExitFailed, err, "stop that daemon first, or use another --home")
		}
		return err
	}
	defer lock.Release()

	log, closeLog, err := openLog(h, a.stderr, f)
	if err != nil {
		return err
	}
	defer closeLog()

	dir, err := statusdir.Open(h.Status())
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	// The watch exists before the loop's first read: no edit is missed.
	w, err := watch.New(h.Desired, watch.Options{Debounce: f.debounce, Logger: log, Dir: h.Fragments(), Match: desired.IsFragment})
	if err != nil {
		return fmt.Errorf("watch %s: %w", h.Desired, err)
	}
	vms := f.vms
	if vms == nil {
		vms = vmDrivers(h, f, log)
	}
	eng := docker.New(docker.WithLogger(log), docker.WithFullSync(f.resync))
	defer closeAll(closeTimeout, log, closers(vms, eng))
	hist := history.NewWriter(history.Open(h.History()), log)
	defer func() {
		// The queued history writes get a moment; the exit stays within
		// the contract's 2 s.
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		if err := hist.Close(ctx); err != nil {
			log.Warn("history writes left unfinished at exit", "err", err)
		}
	}()
	loop, err := reconciler.New(reconciler.Config{
		Context:   contextKeeper(log),
		Desired:   h.Desired,
		Fragments: h.Fragments(),
		Applied:   h.Applied(),
		Confirm:   h.Confirm(),
		Status:    dir,
		Schema:    schema.Default(),
		VMs:       vms,
		Engine:    eng,
		Resync:    f.resync,
		Grace:     f.grace,
		Logger:    log,
		Daemon:    statusdir.DaemonInfo{PID: os.Getpid(), Version: Version},
		Events:    statusdir.NewEventLog(dir, eventRotation()),
		History:   hist,
		TrustRoot: filepath.Dir(h.Dir),
	})
	if err != nil {
		w.Close()
		return err
	}
	bg, cancelBG := context.WithCancel(ctx)
	defer cancelBG()
	go func() {
		if err := w.Run(bg); err != nil {
			log.Error("desired file watch ended", "err", err)
		}
	}()
	go func() {
		for {
			select {
			case <-bg.Done():
				return
			case <-w.C():
				loop.Wake()
			case err := <-w.Errors():
				log.Warn("desired file watch", "err", err)
			}
		}
	}()
	go func() {
		if err := confirm.Watch(bg, h.Confirm(), loop.Wake); err != nil {
			log.Error("confirmation watch ended", "err", err)
		}
	}()
	go func() {
		if err := dir.WatchRemovals(bg, loop.Wake); err != nil {
			log.Error("status directory watch ended", "err", err)
		}
	}()
	log.Info("daemon started", "home", h.Dir, "desired", h.Desired, "pid", os.Getpid(), "version", Version)
	err = runLoop(ctx, loop, dir, log)
	log.Info("daemon stopped", "err", err)
	return err
}

// contextKeeper keeps the docker CLI context of the desired state, or nil
// when the docker CLI's directory cannot be known (the daemon runs
// without it, and says so).
func contextKeeper(log *slog.Logger) reconciler.ContextKeeper {
	dir, err := dockerctx.ConfigDir(nil)
	if err != nil {
		log.Warn("no docker context will be kept", "err", err)
		return nil
	}
	return &dockerctx.Keeper{ConfigDir: dir, Logger: log}
}

// Bounds of the shutdown, which must end within 2 s of SIGINT/SIGTERM: the
// loop's last pass and its status write, then the drivers' Close.
const (
	loopStopTimeout = time.Second
	closeTimeout    = 700 * time.Millisecond
)

// runLoop runs the loop until ctx ends. A loop that does not return within
// loopStopTimeout after that (a driver ignoring cancellation, against its
// contract) is left behind: the markers are removed, so that nothing trusts
// them, and the daemon exits anyway.
func runLoop(ctx context.Context, loop *reconciler.Loop, dir *statusdir.Dir, log *slog.Logger) error {
	done := make(chan error, 1)
	go func() { done <- loop.Run(ctx) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	t := time.NewTimer(loopStopTimeout)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
		log.Error("the reconcile loop did not stop in time; exiting without it", "timeout", loopStopTimeout)
		if err := dir.ClearVerdict(); err != nil {
			return fmt.Errorf("the reconcile loop did not stop within %s; remove the markers: %w", loopStopTimeout, err)
		}
		return fmt.Errorf("the reconcile loop did not stop within %s", loopStopTimeout)
	}
}

// vmDrivers are the VM drivers this build has, by vm.driver value.
func vmDrivers(h home.Home, f daemonFlags, log *slog.Logger) map[string]reconciler.VM {
	return map[string]reconciler.VM{
		"host": &host.Driver{Home: h.Dir},
		"lima": lima.New(lima.Config{Home: h.Lima(), Socket: h.Socket(), Base: h.Dir, StartTimeout: f.startTimeout, Logger: log}),
	}
}

// closers are the Close methods of what runs in the background: the VM
// drivers that have one (a limactl start under way) and the engine.
func closers(vms map[string]reconciler.VM, eng interface{ Close() error }) map[string]func() error {
	cs := map[string]func() error{"engine": eng.Close}
	for name, vm := range vms {
		if c, ok := vm.(interface{ Close() error }); ok {
			cs["VM driver "+name] = c.Close
		}
	}
	return cs
}

// closeAll calls every closer at once and waits for them until timeout: a
// Close that hangs is logged and left behind, so that the daemon still
// exits in time (S1: nothing blocks the exit on a stop).
func closeAll(timeout time.Duration, log *slog.Logger, cs map[string]func() error) {
	type result struct {
		name string
		err  error
	}
	done := make(chan result, len(cs))
	for name, c := range cs {
		go func() { done <- result{name, c()} }()
	}
	pending := maps.Clone(cs)
	t := time.NewTimer(timeout)
	defer t.Stop()
	for len(pending) > 0 {
		select {
		case r := <-done:
			delete(pending, r.name)
			if r.err != nil {
				log.Warn("close", "what", r.name, "err", r.err)
			}
		case <-t.C:
			log.Error("close did not end in time; exiting without it", "what", strings.Join(slices.Sorted(maps.Keys(pending)), ", "), "timeout", timeout)
			return
		}
	}
}

// openLog logs to stderr and HOME/logs/daemon.log.
func openLog(h home.Home, stderr io.Writer, f daemonFlags) (*slog.Logger, func(), error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return nil, nil, withCode(ExitUsage, fmt.Errorf("--log-level %q: want debug, info, warn or error", f.logLevel))
	}
	if err := home.PrivateDir(h.Logs()); err != nil {
		return nil, nil, fmt.Errorf("open log: %w", err)
	}
	path := filepath.Join(h.Logs(), home.LogFile)
	file, err := home.OpenPrivate(path, os.O_WRONLY|os.O_APPEND)
	if err != nil {
		return nil, nil, fmt.Errorf("open log %q: %w", path, err)
	}
	out := io.MultiWriter(stderr, file)
	opts := &slog.HandlerOptions{Level: level}
	var handler slog.Handler
	switch f.logFormat {
	case "text":
		handler = slog.NewTextHandler(out, opts)
	case "json":
		handler = slog.NewJSONHandler(out, opts)
	default:
		file.Close()
		return nil, nil, withCode(ExitUsage, fmt.Errorf("--log-format %q: want text or json", f.logFormat))
	}
	return slog.New(handler), func() { file.Close() }, nil
}
