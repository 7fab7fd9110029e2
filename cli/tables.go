package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/rddproject/rdd/home"
	"github.com/rddproject/rdd/pidlock"
	"github.com/rddproject/rdd/statusdir"
)

// tableCommand builds `rdd ps`, `rdd images` and `rdd volumes`: tables read
// from the object files of status/, never from the engine, so they work
// the same for scripts and show exactly what the daemon mirrors.
func tableCommand[T any](a *app, use, short, sub string, header string, row func(T) string, less func(a, b T) int) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:     use + " [-o yaml|json]",
		Example: "  rdd " + use + "\n  rdd " + use + " -o yaml",
		Short:   short,
		Long: short + `, as the daemon mirrors them in status/` + sub + `/. Exit 5 when no
daemon is running (the table is then the last one written, not current).`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			switch output {
			case "", "yaml", "json":
			default:
				return withCode(ExitUsage, fmt.Errorf("unknown output format %q", output), "use -o yaml or -o json, or no -o for a table")
			}
			h, err := a.home()
			if err != nil {
				return err
			}
			items, skipped, err := readObjects[T](h, sub)
			if err != nil {
				return err
			}
			for _, err := range skipped {
				fmt.Fprintf(a.stderr, "rdd: warning: %v (left out)\n", err)
			}
			slices.SortFunc(items, less)
			if done, err := a.printStructured(output, items); err != nil {
				return err
			} else if !done {
				w := tabwriter.NewWriter(a.stdout, 0, 4, 3, ' ', 0)
				fmt.Fprintln(w, header)
				for _, it := range items {
					fmt.Fprintln(w, row(it))
				}
				w.Flush()
			}
			if running, _, err := pidlock.Held(h.Lock()); err != nil {
				return err
			} else if !running {
				return notRunning(h)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "yaml or json (default: a table)")
	return cmd
}

// readObjects reads the object files of sub. A file that cannot be read or
// decoded is left out and returned in skipped, so that one bad file does
// not hide every other object.
func readObjects[T any](h home.Home, sub string) (items []T, skipped []error, err error) {
	objs, err := statusdir.ReadObjects(h.Status(), sub)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	items = make([]T, 0, len(objs))
	for _, o := range objs {
		if o.Err != nil {
			skipped = append(skipped, o.Err)
			continue
		}
		var it T
		if err := yaml.Unmarshal(o.Data, &it); err != nil {
			skipped = append(skipped, fmt.Errorf("read status file %s/%s: %w", sub, o.File, err))
			continue
		}
		items = append(items, it)
	}
	return items, skipped, nil
}

func (a *app) psCommand() *cobra.Command {
	return tableCommand(a, "ps", "List containers", statusdir.ContainersDir,
		"NAME\tIMAGE\tSTATE\tDESIRED\tEXIT\tPORTS\tCREATED",
		func(c statusdir.ContainerFile) string {
			return strings.Join([]string{c.Name, orDash(c.Image), orMissing(c.State, c.Declared), orDash(c.Desired),
				fmt.Sprint(c.ExitCode), formatPorts(c.Ports), ago(c.Created)}, "\t")
		},
		func(x, y statusdir.ContainerFile) int { return strings.Compare(x.Name, y.Name) })
}

func (a *app) imagesCommand() *cobra.Command {
	return tableCommand(a, "images", "List images", statusdir.ImagesDir,
		"TAG\tID\tSIZE\tCREATED",
		func(i statusdir.ImageFile) string {
			return strings.Join([]string{orNone(i.Tag), shortID(i.ID), humanSize(i.Size), ago(i.Created)}, "\t")
		},
		func(x, y statusdir.ImageFile) int { return strings.Compare(x.Tag+"\x00"+x.ID, y.Tag+"\x00"+y.ID) })
}

func (a *app) volumesCommand() *cobra.Command {
	return tableCommand(a, "volumes", "List volumes", statusdir.VolumesDir,
		"NAME\tDRIVER\tMOUNTPOINT",
		func(v statusdir.VolumeFile) string {
			return strings.Join([]string{v.Name, v.Driver, v.Mountpoint}, "\t")
		},
		func(x, y statusdir.VolumeFile) int { return strings.Compare(x.Name, y.Name) })
}

// formatPorts renders ports as docker ps does: 127.0.0.1:8080->80/tcp,
// or 80/tcp when unpublished.
func formatPorts(ports []statusdir.Port) string {
	var parts []string
	for _, p := range ports {
		if len(p.Bindings) == 0 {
			parts = append(parts, p.Name)
			continue
		}
		for _, b := range p.Bindings {
			ip := b.HostIP
			if ip == "" {
				ip = "0.0.0.0"
			}
			parts = append(parts, fmt.Sprintf("%s:%s->%s", ip, b.HostPort, p.Name))
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ",")
}

// orMissing names the state of a container: a declared container that
// does not exist has none.
func orMissing(state string, declared bool) string {
	switch {
	case state != "":
		return state
	case declared:
		return "(missing)"
	}
	return "-"
}

func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

func humanSize(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%dB", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.3g%cB", float64(n)/float64(div), "kMGTPE"[exp])
}

func ago(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}
