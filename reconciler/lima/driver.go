package lima

// The driver: its configuration, its state, and how it finds limactl.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"github.com/rddproject/rdd/reconciler"
	"github.com/rddproject/rdd/statusdir"
)

// Name is the Lima instance rdd manages, inside its own LIMA_HOME.
const Name = "rd"

// Defaults of Config.
const (
	DefaultStartTimeout = 10 * time.Minute
	DefaultStopTimeout  = 5 * time.Minute
	DefaultRetryAfter   = 15 * time.Second
)

// Bounds of the short limactl commands and of retries.
const (
	listTimeout      = 30 * time.Second
	editTimeout      = 2 * time.Minute
	forceStopTimeout = 2 * time.Minute
	maxRetryAfter    = 5 * time.Minute
)

// Config wires a Driver. Home is required; the rest has defaults.
type Config struct {
	// Home is LIMA_HOME for every limactl command (home.Home.Lima()).
	Home string
	// Socket is where the engine socket is forwarded on the host when
	// containerEngine.socket is empty (home.Home.Socket()).
	Socket string
	// Base is the directory a relative containerEngine.socket is relative
	// to (RDD_HOME); default the directory of Socket.
	Base string
	// Limactl is the limactl binary, a path or a name looked up on PATH.
	// Empty means $RDD_LIMACTL, else "limactl".
	Limactl string
	// StartTimeout bounds creating and starting the instance (default
	// 10m); StopTimeout bounds a graceful stop (default 5m), after which
	// the instance is stopped forcibly.
	StartTimeout time.Duration
	StopTimeout  time.Duration
	// RetryAfter is the pause before a failed start or stop is tried again
	// with the same desired state; it doubles with each failure, up to 5m
	// (default 15s). A new desired state is tried at once.
	RetryAfter time.Duration
	// Env is added to limactl's environment (KEY=VALUE).
	Env []string
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Driver implements reconciler.VM with Lima: it renders the instance's
// lima.yaml from the desired state and drives limactl.
//
// Reconcile is called by one goroutine (the loop's). Long limactl commands
// (create, start, stop, delete) run in a goroutine of their own while
// Reconcile reports Starting, Stopping or Restarting; when they end,
// Changes delivers a wake-up.
type Driver struct {
	cfg     Config
	log     *slog.Logger
	changes chan struct{}
	wg      sync.WaitGroup

	// closing ends when Close is called: every limactl command, also a
	// forced stop that must outlive a cancelled start, ends with it.
	closing  context.Context
	closeAll context.CancelFunc
	procs    *procSet

	mu       sync.Mutex
	op       *operation // running, or finished and not yet collected by Reconcile
	watching bool       // a liveness watch runs

	now func() time.Time // time.Now; tests move it

	// observed is the last observation, for Plan; nil before the first.
	observed *observation

	// Owned by the goroutine calling Reconcile.
	expect   *expectation // a started configuration not yet reported by limactl list
	repaired string       // what the last repair did, for the Running message
	fail     *failure
	last     statusdir.VMStatus  // the last observation, shown during operations
	lastRes  reconciler.VMResult // the last result returned
	guest    *guestState         // the engine configuration (guestconfig.go)
}

var _ reconciler.VM = (*Driver)(nil)

// New returns a driver; it runs nothing until Reconcile.
func New(cfg Config) *Driver {
	if cfg.Limactl == "" {
		cfg.Limactl = os.Getenv("RDD_LIMACTL")
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = DefaultStartTimeout
	}
	if cfg.StopTimeout <= 0 {
		cfg.StopTimeout = DefaultStopTimeout
	}
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = DefaultRetryAfter
	}
	if cfg.Base == "" && cfg.Socket != "" {
		cfg.Base = filepath.Dir(cfg.Socket)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	closing, closeAll := context.WithCancel(context.Background())
	return &Driver{
		closing:  closing,
		closeAll: closeAll,
		procs:    &procSet{},
		cfg:      cfg,
		log:      cfg.Logger.With("driver", "lima", "instance", Name),
		changes:  make(chan struct{}, 1),
		now:      time.Now,
		last:     statusdir.VMStatus{Driver: "lima", Instance: Name},
	}
}

// Changes delivers a wake-up whenever a limactl operation ends.
func (dr *Driver) Changes() <-chan struct{} { return dr.changes }

// runner finds limactl.
func (dr *Driver) runner() (*runner, error) {
	name := dr.cfg.Limactl
	explicit := name != ""
	if !explicit {
		name = "limactl"
	}
	path, err := exec.LookPath(name)
	if err != nil {
		if explicit {
			return nil, fmt.Errorf("limactl %q (RDD_LIMACTL) cannot be run: %v\nhint: point RDD_LIMACTL at the limactl binary of Lima 1.1 or later", name, err)
		}
		return nil, errors.New("limactl was not found on PATH\nhint: install Lima 1.1 or later (https://lima-vm.io/docs/installation/), or set RDD_LIMACTL to its limactl binary")
	}
	return &runner{path: path, home: dr.cfg.Home, env: dr.cfg.Env, procs: dr.procs}, nil
}

func (dr *Driver) instanceDir() string { return filepath.Join(dr.cfg.Home, Name) }

func (dr *Driver) instanceDirExists() bool {
	_, err := os.Stat(filepath.Join(dr.instanceDir(), "lima.yaml"))
	return err == nil
}

func (dr *Driver) logsHint() string {
	dir := dr.instanceDir()
	return fmt.Sprintf("see %s and the guest console in %s", filepath.Join(dir, "ha.stderr.log"), filepath.Join(dir, "serial*.log"))
}

// explain turns a limactl failure into a message: limactl's own lines,
// where to look, and what to do when limactl refused root.
func (dr *Driver) explain(err error, extra string) string {
	msg := err.Error()
	if extra != "" {
		msg += "\n" + extra
	}
	var ce *cmdError
	if errors.As(err, &ce) && ce.rootRefused() {
		return msg + "\nhint: limactl refuses to run as root; run `rdd daemon` as the (non-root) user who owns the VM"
	}
	return msg
}
