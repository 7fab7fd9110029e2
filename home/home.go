// Package home computes the paths of an rdd home directory (RDD_HOME,
// default ~/.rd). It only computes: creating directories is done by the code
// that needs them, where an error can be returned and acted on.
package home

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Names of the entries of a home directory.
const (
	DesiredFile = "desired.yaml"
	StatusDir   = "status"
	SocketFile  = "docker.sock"
	LimaDir     = "lima"
	RunDir      = "run"
	LockFile    = "daemon.lock"
	AppliedFile = "applied.yaml"
	ConfirmFile = "confirm.yaml"
	HistoryDir  = "history"
	LogsDir     = "logs"
	LogFile     = "daemon.log"
)

// Home is one rdd home directory and the desired file it uses.
type Home struct {
	Dir     string // RDD_HOME
	Desired string // desired.yaml, or the --desired/RDD_DESIRED override
}

// Resolve picks the home directory and desired file: a flag value wins over
// the environment variable, which wins over the default (~/.rd and its
// desired.yaml). A leading "~/" is expanded in both.
func Resolve(dirFlag, desiredFlag string) (Home, error) {
	dir := firstNonEmpty(dirFlag, os.Getenv("RDD_HOME"))
	if dir == "" {
		u, err := os.UserHomeDir()
		if err != nil {
			return Home{}, fmt.Errorf("find the home directory for ~/.rd (set RDD_HOME or --home): %w", err)
		}
		dir = filepath.Join(u, ".rd")
	}
	dir, err := Expand(dir)
	if err != nil {
		return Home{}, err
	}
	desired := firstNonEmpty(desiredFlag, os.Getenv("RDD_DESIRED"))
	if desired == "" {
		desired = filepath.Join(dir, DesiredFile)
	}
	desired, err = Expand(desired)
	if err != nil {
		return Home{}, err
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return Home{}, fmt.Errorf("resolve home %q: %w", dir, err)
	}
	if desired, err = filepath.Abs(desired); err != nil {
		return Home{}, fmt.Errorf("resolve desired file %q: %w", desired, err)
	}
	return Home{Dir: dir, Desired: desired}, nil
}

// Expand replaces a leading "~" or "~/" with the user's home directory.
func Expand(p string) (string, error) {
	if p != "~" && !strings.HasPrefix(p, "~/") {
		return p, nil
	}
	u, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("expand %q: %w", p, err)
	}
	if u == "" {
		return "", errors.New("expand ~: no home directory known")
	}
	return filepath.Join(u, strings.TrimPrefix(p, "~")), nil
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// Status is the directory the daemon writes its observations to.
func (h Home) Status() string { return filepath.Join(h.Dir, StatusDir) }

// Lock is the file a running daemon holds locked, containing its PID.
func (h Home) Lock() string { return filepath.Join(h.Dir, RunDir, LockFile) }

// Applied is the daemon's copy of the last valid desired file.
func (h Home) Applied() string { return filepath.Join(h.Dir, RunDir, AppliedFile) }

// Confirm records the user's consent to a data-destroying change, for one
// desired digest (`rdd confirm recreate`).
func (h Home) Confirm() string { return filepath.Join(h.Dir, RunDir, ConfirmFile) }

// History holds the desired contents the daemon applied, one directory
// per generation (package history).
func (h Home) History() string { return filepath.Join(h.Dir, RunDir, HistoryDir) }

// Logs is the daemon's log directory.
func (h Home) Logs() string { return filepath.Join(h.Dir, LogsDir) }

// Lima is LIMA_HOME of the managed instance, apart from the user's own.
func (h Home) Lima() string { return filepath.Join(h.Dir, LimaDir) }

// Socket is the default engine socket forwarded from the VM.
func (h Home) Socket() string { return filepath.Join(h.Dir, SocketFile) }
