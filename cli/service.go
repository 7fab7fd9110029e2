package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/rddproject/rdd/atomicfile"

	"github.com/spf13/cobra"

	"github.com/rddproject/rdd/pidlock"
)

// serviceFlags are shared by the service subcommands.
type serviceFlags struct {
	print   bool
	manager string
}

func (a *app) serviceCommand() *cobra.Command {
	var f serviceFlags
	cmd := &cobra.Command{
		Use:   "service install|uninstall|status [--print]",
		Short: "Start the daemon at login (a systemd user unit or a LaunchAgent)",
		Long: `Run rdd daemon at login, as a systemd user unit (Linux:
$XDG_CONFIG_HOME/systemd/user/rdd.service, default ~/.config) or a
LaunchAgent (macOS: ~/Library/LaunchAgents/` + launchdLabel + `.plist). The
file names this rdd binary and bakes in RDD_HOME, RDD_DESIRED (when set) and
PATH as they are now, so the daemon at login manages the same home and
finds the same limactl. A daemon that fails is restarted; one stopped on
purpose is not.

install writes the file and enables and starts it (systemctl --user
enable --now, launchctl bootstrap); uninstall stops, disables and removes
it; status says whether it is installed, enabled and running (exit 0 only
when it runs). --print shows the file that install would write and changes
nothing. systemctl and launchctl are found on PATH.`,
		Example: `  rdd service install --print       # see the unit first
  rdd service install
  rdd service status
  rdd --home ~/.rd-work service install --print --manager launchd
  rdd service uninstall`,
	}
	cmd.PersistentFlags().BoolVar(&f.print, "print", false, "print the service file and change nothing")
	cmd.PersistentFlags().StringVar(&f.manager, "manager", defaultManager(), "systemd or launchd")
	sub := func(name, short string, run func(service, string, serviceFlags) error) *cobra.Command {
		return &cobra.Command{
			Use:   name + " [--print]",
			Short: short,
			Args:  wrapArgs(cobra.NoArgs),
			RunE: func(*cobra.Command, []string) error {
				s, path, err := a.service(f)
				if err != nil {
					return err
				}
				if f.print {
					return a.printService(s, path)
				}
				return run(s, path, f)
			},
		}
	}
	install := sub("install", "Write the service file, enable and start it", a.serviceInstall)
	install.Example = "  rdd service install\n  rdd service install --print"
	uninstall := sub("uninstall", "Stop and disable the service and remove its file", a.serviceUninstall)
	uninstall.Example = "  rdd service uninstall"
	status := sub("status", "Say whether the service is installed, enabled and running", a.serviceStatus)
	status.Example = "  rdd service status\n  rdd service status && echo the daemon starts at login"
	cmd.AddCommand(install, uninstall, status)
	return cmd
}

// service describes the service of this invocation and its file's path.
func (a *app) service(f serviceFlags) (service, string, error) {
	if f.manager != managerSystemd && f.manager != managerLaunchd {
		return service{}, "", withCode(ExitUsage, fmt.Errorf("--manager %q: want systemd or launchd", f.manager))
	}
	h, err := a.home()
	if err != nil {
		return service{}, "", err
	}
	desiredSet := a.desiredFlag != "" || os.Getenv("RDD_DESIRED") != ""
	s, err := newService(f.manager, h, desiredSet)
	if err != nil {
		return service{}, "", err
	}
	path, err := s.file()
	return s, path, err
}

func (a *app) printService(s service, path string) error {
	data, err := s.render()
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "rdd: rdd service install writes %s:\n", path)
	_, err = a.stdout.Write(data)
	return err
}

func (a *app) serviceInstall(s service, path string, _ serviceFlags) error {
	data, err := s.render()
	if err != nil {
		return err
	}
	old, _ := os.ReadFile(path)
	changed := !bytes.Equal(old, data)
	if changed {
		if err := writeAtomic(path, data, 0o644); err != nil {
			return err
		}
	}
	if s.Manager == managerLaunchd {
		domain := launchdDomain()
		// bootstrap refuses a loaded agent: unload it first (loading the
		// new file if it changed); an agent not loaded is no error.
		_, _ = runTool("launchctl", "bootout", domain+"/"+launchdLabel)
		if _, err := runTool("launchctl", "bootstrap", domain, path); err != nil {
			return withCode(ExitFailed, err, fmt.Sprintf("%s is written; load it with `launchctl bootstrap %s %s`", path, domain, path))
		}
	} else {
		for _, args := range [][]string{{"--user", "daemon-reload"}, {"--user", "enable", "--now", systemdUnitName}} {
			if _, err := runTool("systemctl", args...); err != nil {
				return withCode(ExitFailed, err,
					fmt.Sprintf("%s is written; with no systemd user session (a container, su without a login), run `rdd daemon` yourself, or enable lingering with `loginctl enable-linger`", path))
			}
		}
		if changed && old != nil {
			// enable --now leaves a running unit as it was: restart it so
			// the new file is in force. The VM keeps running meanwhile.
			if _, err := runTool("systemctl", "--user", "restart", systemdUnitName); err != nil {
				return withCode(ExitFailed, err)
			}
		}
	}
	what := "written"
	if !changed {
		what = "unchanged"
	}
	fmt.Fprintf(a.stderr, "rdd: %s %s; the daemon for %s starts at login and now (`rdd service status` checks)\n", path, what, s.Home)
	return nil
}

func (a *app) serviceUninstall(s service, path string, _ serviceFlags) error {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(a.stderr, "rdd: no service file at %s; nothing to remove\n", path)
		return nil
	}
	var stopErr error
	if s.Manager == managerLaunchd {
		_, stopErr = runTool("launchctl", "bootout", launchdDomain()+"/"+launchdLabel)
	} else {
		_, stopErr = runTool("systemctl", "--user", "disable", "--now", systemdUnitName)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("remove %q: %w", path, err)
	}
	syncParent(path)
	if s.Manager == managerSystemd {
		_, _ = runTool("systemctl", "--user", "daemon-reload") // forget the removed unit
	}
	if stopErr != nil {
		return withCode(ExitFailed, fmt.Errorf("removed %s, but stopping the service failed: %w", path, stopErr),
			"a daemon it started may still run: `rdd status` shows its pid")
	}
	fmt.Fprintf(a.stderr, "rdd: removed %s; the daemon no longer starts at login (it was stopped; the VM was not)\n", path)
	return nil
}

func (a *app) serviceStatus(s service, path string, _ serviceFlags) error {
	w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	installed := "no"
	data, err := os.ReadFile(path)
	if err == nil {
		installed = "yes"
		if want, rerr := s.render(); rerr == nil && !bytes.Equal(data, want) {
			installed = "yes, but not as `rdd service install` writes it now (run it again)"
		}
	}
	var enabled, running string
	if s.Manager == managerLaunchd {
		out, err := runTool("launchctl", "print", launchdDomain()+"/"+launchdLabel)
		enabled, running = "no", "no"
		if err == nil {
			enabled = "yes (loaded)"
			if strings.Contains(out, "state = running") {
				running = "yes"
			}
		}
	} else {
		// is-enabled and is-active answer on stdout and say no with a
		// non-zero exit: the word is the answer.
		enabled = toolWord("systemctl", "--user", "is-enabled", systemdUnitName)
		running = toolWord("systemctl", "--user", "is-active", systemdUnitName)
	}
	fmt.Fprintf(w, "file:\t%s\n", path)
	fmt.Fprintf(w, "installed:\t%s\n", installed)
	fmt.Fprintf(w, "enabled:\t%s\n", enabled)
	fmt.Fprintf(w, "running:\t%s\n", running)
	if held, pid, err := pidlock.Held(filepath.Join(s.Home, "run", "daemon.lock")); err == nil && held {
		fmt.Fprintf(w, "daemon:\trunning for %s (pid %d)\n", s.Home, pid)
	} else {
		fmt.Fprintf(w, "daemon:\tnot running for %s\n", s.Home)
	}
	w.Flush()
	switch {
	case installed == "no":
		return withCode(ExitFailed, errors.New("the rdd service is not installed"), "install it with `rdd service install`")
	case running != "active" && running != "yes":
		return withCode(ExitFailed, fmt.Errorf("the rdd service is not running (%s)", running), serviceLogHint(s))
	}
	return nil
}

func serviceLogHint(s service) string {
	if s.Manager == managerLaunchd {
		return "see " + filepath.Join(s.Logs, "launchd.stderr.log") + " and `rdd logs`"
	}
	return "see `journalctl --user -u " + systemdUnitName + "` and `rdd logs`"
}

// launchdDomain is the GUI domain of this user.
func launchdDomain() string { return fmt.Sprintf("gui/%d", os.Getuid()) }

// runTool runs a service manager's tool found on PATH and returns its
// standard output; a failure quotes its standard error.
func runTool(name string, args ...string) (string, error) {
	path, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s was not found on PATH: %w", name, err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = strings.TrimSpace(stdout.String())
		}
		return stdout.String(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, msg)
	}
	return stdout.String(), nil
}

// toolWord is the first word a tool printed, whatever its exit status, or
// "unknown (why)" when it printed none.
func toolWord(name string, args ...string) string {
	out, err := runTool(name, args...)
	if f := strings.Fields(out); len(f) > 0 {
		return f[0]
	}
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	return "unknown"
}

// writeAtomic replaces path with data (creating its directory) through
// the one atomic writer: a reader sees the old file or the new.
func writeAtomic(path string, data []byte, perm fs.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create directory for %q: %w", path, err)
	}
	return atomicfile.Write(path, data, perm)
}

// syncParent makes a removal durable; a file system that cannot sync a
// directory does without.
func syncParent(path string) {
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
