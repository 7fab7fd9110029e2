package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/rddproject/rdd/home"
	"github.com/rddproject/rdd/pidlock"
	"github.com/rddproject/rdd/statusdir"
)

func (a *app) statusCommand() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:     "status [-o yaml|json]",
		Example: "  rdd status\n  rdd status -o json | jq .conditions",
		Short:   "Show what the daemon observes",
		Long: `Show what the daemon observes: a summary for people by default, or
status/app.yaml as YAML or JSON. Exit 5 when no daemon is running (what is
shown is then the last status written, not current).`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			switch output {
			case "", "yaml", "json":
			default:
				return withCode(ExitUsage, fmt.Errorf("unknown output format %q", output), "use -o yaml or -o json, or no -o for a summary")
			}
			h, err := a.home()
			if err != nil {
				return err
			}
			running, pid, err := pidlock.Held(h.Lock())
			if err != nil {
				return err
			}
			snap, err := statusdir.ReadSnapshot(h.Status())
			if err != nil {
				return err
			}
			switch output {
			case "yaml":
				if snap.App != nil {
					b, err := os.ReadFile(filepath.Join(h.Status(), statusdir.AppFile))
					if err != nil && !errors.Is(err, fs.ErrNotExist) {
						return err
					}
					a.stdout.Write(b)
				}
			case "json":
				if snap.App != nil {
					b, err := json.MarshalIndent(snap.App, "", "  ")
					if err != nil {
						return err
					}
					fmt.Fprintln(a.stdout, string(b))
				}
			default:
				a.printSummary(h, snap, running, pid)
			}
			if !running {
				return notRunning(h)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "yaml or json (default: a summary)")
	return cmd
}

func notRunning(h home.Home) error {
	return withCode(ExitNoDaemon, fmt.Errorf("no rdd daemon is running for %s", h.Dir),
		"start it with `rdd daemon` (markers left in status/ are not current)")
}

func (a *app) printSummary(h home.Home, s statusdir.Snapshot, running bool, pid int) {
	w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	defer w.Flush()
	if running {
		fmt.Fprintf(w, "daemon:\trunning (pid %d)\n", pid)
	} else {
		fmt.Fprintf(w, "daemon:\tnot running\n")
	}
	app := s.App
	if app == nil {
		fmt.Fprintf(w, "status:\tnone written yet in %s\n", h.Status())
		return
	}
	fmt.Fprintf(w, "desired:\t%s (generation %d, %s)\n", app.Desired.Path, app.Desired.Generation, shortDigest(app.Desired.Digest))
	fmt.Fprintf(w, "applied:\tgeneration %d (%s)\n", app.Applied.Generation, shortDigest(app.Applied.Digest))
	fmt.Fprintf(w, "summary:\t%s\n", app.Summary)
	switch {
	case s.Ready != nil:
		fmt.Fprintf(w, "verdict:\tready (generation %d): %s\n", s.Ready.Generation, s.Ready.Message)
	case s.Failed != nil:
		fmt.Fprintf(w, "verdict:\tfailed (generation %d, %s):\n", s.Failed.Generation, s.Failed.Reason)
		for _, line := range strings.Split(s.Failed.Message, "\n") {
			fmt.Fprintf(w, "\t  %s\n", line)
		}
	default:
		fmt.Fprintf(w, "verdict:\tnone yet\n")
	}
	fmt.Fprintf(w, "vm:\t%s %s %s (%d cpus, %s memory, %s disk, %s)\n", orDash(app.VM.Driver), orDash(app.VM.Instance),
		orDash(app.VM.Status), app.VM.CPUs, orDash(app.VM.Memory), orDash(app.VM.Disk), orDash(app.VM.Type))
	fmt.Fprintf(w, "engine:\t%s %s (API %s) at %s\n", orDash(app.Engine.Name), orDash(app.Engine.Version),
		orDash(app.Engine.APIVersion), orDash(app.Engine.Socket))
	fmt.Fprintf(w, "conditions:\n")
	for _, c := range app.Conditions {
		fmt.Fprintf(w, "  %s\t%s\t%s\t%s\n", c.Type, c.Status, c.Reason, firstLine(c.Message))
	}
}

func shortDigest(d string) string {
	if len(d) > len("sha256:")+12 {
		return d[:len("sha256:")+12]
	}
	if d == "" {
		return "no content"
	}
	return d
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func firstLine(s string) string {
	first, rest, _ := strings.Cut(s, "\n")
	if rest != "" {
		return first + " (...)"
	}
	return first
}
