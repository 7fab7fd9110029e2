package cli

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"howett.net/plist"

	"github.com/rddproject/rdd/home"
)

// Service managers `rdd service` writes for.
const (
	managerSystemd = "systemd"
	managerLaunchd = "launchd"
)

// Names of the service files.
const (
	systemdUnitName = "rdd.service"
	launchdLabel    = "io.github.rddproject.rdd"
)

// service is everything baked into a service file: the daemon must run
// with this binary, this home and this PATH, whatever the login session's
// environment (Lima's own autostart units forgot LIMA_HOME).
type service struct {
	Manager string // managerSystemd or managerLaunchd
	Exe     string // absolute path of this rdd binary
	Home    string // RDD_HOME, absolute
	Desired string // RDD_DESIRED when it is set, else ""
	Path    string // PATH of the installing shell (limactl, docker helpers)
	Logs    string // the home's log directory
}

// defaultManager is the service manager of this OS.
func defaultManager() string {
	if runtime.GOOS == "darwin" {
		return managerLaunchd
	}
	return managerSystemd
}

// newService describes the service for home h. The binary is named as it
// was run (a symlink such as a package manager's bin/rdd stays a symlink,
// so an upgrade does not leave the service on an old version).
func newService(manager string, h home.Home, desiredSet bool) (service, error) {
	exe, err := selfPath()
	if err != nil {
		return service{}, err
	}
	s := service{Manager: manager, Exe: exe, Home: h.Dir, Path: os.Getenv("PATH"), Logs: h.Logs()}
	if desiredSet {
		s.Desired = h.Desired
	}
	return s, nil
}

// selfPath is the absolute path of the running rdd, without resolving
// symlinks.
func selfPath() (string, error) {
	arg0 := os.Args[0]
	if !strings.ContainsRune(arg0, filepath.Separator) {
		if p, err := exec.LookPath(arg0); err == nil {
			arg0 = p
		} else if exe, err := os.Executable(); err == nil {
			arg0 = exe
		}
	}
	p, err := filepath.Abs(arg0)
	if err != nil {
		return "", fmt.Errorf("find the path of this rdd binary: %w", err)
	}
	return p, nil
}

// file is where the service file goes: the systemd user unit directory
// ($XDG_CONFIG_HOME, default ~/.config) or ~/Library/LaunchAgents.
func (s service) file() (string, error) {
	if s.Manager == managerLaunchd {
		u, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("find ~/Library/LaunchAgents: %w", err)
		}
		return filepath.Join(u, "Library", "LaunchAgents", launchdLabel+".plist"), nil
	}
	cfg := os.Getenv("XDG_CONFIG_HOME")
	if cfg == "" || !filepath.IsAbs(cfg) { // the XDG spec ignores a relative value
		u, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("find ~/.config (set XDG_CONFIG_HOME): %w", err)
		}
		cfg = filepath.Join(u, ".config")
	}
	return filepath.Join(cfg, "systemd", "user", systemdUnitName), nil
}

// render is the service file's content.
func (s service) render() ([]byte, error) {
	if s.Manager == managerLaunchd {
		return s.plist()
	}
	return []byte(s.unit()), nil
}

// env is the environment baked into the service, in a stable order.
func (s service) env() [][2]string {
	env := [][2]string{{"RDD_HOME", s.Home}}
	if s.Desired != "" {
		env = append(env, [2]string{"RDD_DESIRED", s.Desired})
	}
	return append(env, [2]string{"PATH", s.Path})
}

// unit is the systemd user unit. Restart=on-failure: a daemon stopped
// with SIGTERM exits 0 and stays stopped; a crash is restarted.
func (s service) unit() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by `rdd service install`; `rdd service uninstall` removes it.\n")
	fmt.Fprintf(&b, "[Unit]\nDescription=rdd daemon for %s\n\n", systemdEscape(s.Home))
	fmt.Fprintf(&b, "[Service]\nType=exec\nExecStart=%s daemon\n", systemdQuote(s.Exe))
	for _, kv := range s.env() {
		fmt.Fprintf(&b, "Environment=%s\n", systemdQuote(kv[0]+"="+kv[1]))
	}
	fmt.Fprintf(&b, "Restart=on-failure\nRestartSec=5s\n\n[Install]\nWantedBy=default.target\n")
	return b.String()
}

// systemdEscape escapes systemd's specifiers (%h, %u...) in a value.
func systemdEscape(s string) string { return strings.ReplaceAll(s, "%", "%%") }

// systemdQuote is s as one double-quoted word of a systemd unit: specifiers
// (%) and variable expansion ($) are escaped, as are quotes and backslashes.
func systemdQuote(s string) string {
	s = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "%", "%%", "$", "$$", "\n", `\n`).Replace(s)
	return `"` + s + `"`
}

// launchAgent is the LaunchAgent property list. KeepAlive restarts the
// daemon when it exits unsuccessfully (as systemd's Restart=on-failure);
// launchd has no user journal, so its output goes under the home's logs.
type launchAgent struct {
	Label                string            `plist:"Label"`
	ProgramArguments     []string          `plist:"ProgramArguments"`
	EnvironmentVariables map[string]string `plist:"EnvironmentVariables"`
	RunAtLoad            bool              `plist:"RunAtLoad"`
	KeepAlive            map[string]bool   `plist:"KeepAlive"`
	ProcessType          string            `plist:"ProcessType"`
	StandardOutPath      string            `plist:"StandardOutPath"`
	StandardErrorPath    string            `plist:"StandardErrorPath"`
}

func (s service) plist() ([]byte, error) {
	env := map[string]string{}
	for _, kv := range s.env() {
		env[kv[0]] = kv[1]
	}
	b, err := plist.MarshalIndent(launchAgent{
		Label:                launchdLabel,
		ProgramArguments:     []string{s.Exe, "daemon"},
		EnvironmentVariables: env,
		RunAtLoad:            true,
		KeepAlive:            map[string]bool{"SuccessfulExit": false},
		ProcessType:          "Background",
		StandardOutPath:      filepath.Join(s.Logs, "launchd.stdout.log"),
		StandardErrorPath:    filepath.Join(s.Logs, "launchd.stderr.log"),
	}, plist.XMLFormat, "\t")
	if err != nil {
		return nil, fmt.Errorf("encode the LaunchAgent: %w", err)
	}
	return append(b, '\n'), nil
}
