package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

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
}

func (a *app) daemonCommand() *cobra.Command {
	var f daemonFlags
	cmd := &cobra.Command{
		Use:     "daemon",
		Example: "  rdd daemon &\n  rdd daemon --log-format json --log-level debug\n  rdd --home ~/.rd-test daemon",
		Short:   "Run the reconciler in the foreground",
		Long: `Run the reconciler in the foreground: watch the desired file, bring the VM
and its container engine to match, and write what is observed under
HOME/status/. One daemon runs per home. SIGINT or SIGTERM stops it within
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
	w, err := watch.New(h.Desired, watch.Options{Debounce: f.debounce, Logger: log})
	if err != nil {
		return fmt.Errorf("watch %s: %w", h.Desired, err)
	}
	vms := vmDrivers(h, f, log)
	defer closeDrivers(vms, log)
	eng := docker.New(docker.WithLogger(log), docker.WithFullSync(f.resync))
	defer eng.Close()
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
		Context: contextKeeper(log),
		Desired: h.Desired,
		Applied: h.Applied(),
		Status:  dir,
		Schema:  schema.Default(),
		VMs:     vms,
		Engine:  eng,
		Resync:  f.resync,
		Grace:   f.grace,
		Logger:  log,
		Daemon:  statusdir.DaemonInfo{PID: os.Getpid(), Version: Version},
		Events:  statusdir.NewEventLog(dir, eventRotation()),
		History: hist,
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
		if err := dir.WatchRemovals(bg, loop.Wake); err != nil {
			log.Error("status directory watch ended", "err", err)
		}
	}()
	log.Info("daemon started", "home", h.Dir, "desired", h.Desired, "pid", os.Getpid(), "version", Version)
	err = loop.Run(ctx)
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

// vmDrivers are the VM drivers this build has, by vm.driver value.
func vmDrivers(h home.Home, f daemonFlags, log *slog.Logger) map[string]reconciler.VM {
	return map[string]reconciler.VM{
		"host": &host.Driver{Home: h.Dir},
		"lima": lima.New(lima.Config{Home: h.Lima(), Socket: h.Socket(), Base: h.Dir, StartTimeout: f.startTimeout, Logger: log}),
	}
}

// closeDrivers ends what drivers still run in the background (a limactl
// start under way), so the daemon exits only after they stopped.
func closeDrivers(vms map[string]reconciler.VM, log *slog.Logger) {
	for name, vm := range vms {
		if c, ok := vm.(interface{ Close() error }); ok {
			if err := c.Close(); err != nil {
				log.Warn("close VM driver", "driver", name, "err", err)
			}
		}
	}
}

// openLog logs to stderr and HOME/logs/daemon.log.
func openLog(h home.Home, stderr io.Writer, f daemonFlags) (*slog.Logger, func(), error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return nil, nil, withCode(ExitUsage, fmt.Errorf("--log-level %q: want debug, info, warn or error", f.logLevel))
	}
	if err := os.MkdirAll(h.Logs(), 0o700); err != nil {
		return nil, nil, fmt.Errorf("create log directory %q: %w", h.Logs(), err)
	}
	path := filepath.Join(h.Logs(), home.LogFile)
	file, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
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
