package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/rddproject/rdd/effect"
	"github.com/rddproject/rdd/home"
	"github.com/rddproject/rdd/pidlock"
	"github.com/rddproject/rdd/reconciler"
	"github.com/rddproject/rdd/schema"
	"github.com/rddproject/rdd/statusdir"
)

func (a *app) planCommand() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "plan [FILE] [-o yaml|json]",
		Short: "Show what each change would cost, before it happens",
		Long: `Compare FILE (default: the desired file in use) with the state in force
and print, changing nothing, every key that differs with its effect, from
least to most disruptive: none, live, reload, engine-restart, vm-restart,
recreate, refused. The last line names the most disruptive effect.

The state in force is the last desired content the daemon applied (kept in
HOME/run/applied.yaml) and what the drivers recorded (the Lima instance's
record, the mirrors under HOME/status/). rdd plan works without a daemon and
says when what it compares with may be stale.

Exit 0 when a plan was computed, whatever it holds; 3 when FILE is invalid.`,
		Example: `  rdd plan                      # the desired file against what is in force
  rdd plan next.yaml -o json    # a candidate file, for a script
  rdd set --dry-run vm.cpus=4   # the diff of an edit, then its plan`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			if output != "" && output != "yaml" && output != "json" {
				return withCode(ExitUsage, fmt.Errorf("-o %q: want yaml or json (or nothing, for a table)", output))
			}
			h, err := a.home()
			if err != nil {
				return err
			}
			path := h.Desired
			if len(args) == 1 {
				path = args[0]
			}
			d, data, err := schema.Default().Load(path)
			if err != nil {
				return withCode(ExitInvalid, err, invalidHint)
			}
			p := a.planOf(h, schema.Digest(data), d)
			return printPlan(a.stdout, p, output)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "yaml or json (default: a table)")
	return cmd
}

// planOf plans d against the state in force, telling on stderr when that
// state may be stale (no daemon, or none ever applied).
func (a *app) planOf(h home.Home, digest string, d *schema.Desired) effect.Plan {
	inForce, note := readInForce(h)
	if note != "" {
		fmt.Fprintf(a.stderr, "rdd: %s\n", note)
	}
	vm, engine := offlinePlanners(h, d)
	return reconciler.Plan(digest, inForce, d, vm, engine)
}

// readInForce reads the state in force: the daemon's copy of the last
// valid desired file. The note says what may make it stale.
func readInForce(h home.Home) (*schema.Desired, string) {
	running, _, _ := pidlock.Held(h.Lock())
	stale := ""
	if !running {
		stale = "no daemon is running: the plan compares with the state last applied and recorded, which may be stale"
	}
	data, err := os.ReadFile(h.Applied())
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, "nothing has been applied in this home yet"
	case err != nil:
		return nil, fmt.Sprintf("cannot read the state in force (%v); planning as if nothing was applied", err)
	case len(data) == 0:
		return nil, "the daemon's copy of the state in force is empty; planning as if nothing was applied"
	}
	d, err := schema.Default().Parse(h.Applied(), data)
	if err != nil {
		return nil, fmt.Sprintf("the daemon's copy of the state in force is not valid (%v); planning as if nothing was applied", firstLine(err.Error()))
	}
	if app, err := statusdir.ReadApp(h.Status()); running && err == nil && app.Applied.Digest != "" && app.Applied.Digest != schema.Digest(data) {
		stale = "the daemon is applying another state right now; the plan may be stale"
	}
	return d, stale
}

// printPlan renders p as the table of DESIGN section 10, or as YAML/JSON.
func printPlan(w io.Writer, p effect.Plan, output string) error {
	switch output {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(p)
	case "yaml":
		b, err := yaml.Marshal(p)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	if len(p.Changes) > 0 {
		tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
		fmt.Fprintln(tw, "KEY\tFROM\tTO\tEFFECT\tWHY")
		for _, c := range p.Changes {
			why := c.Why
			if c.Action != "" {
				why = c.Action + ": " + why
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.Key, short(c.From), short(c.To), c.Effect, why)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(w, "no changes")
	}
	_, err := fmt.Fprintf(w, "effect: %s (%s)\n", p.Effect, p.Effect.Describe())
	return err
}

// short keeps a table cell readable; -o json has the whole value.
func short(s string) string {
	const max = 40
	r := []rune(s)
	if len(r) <= max {
		return s
	}
	return string(r[:max-3]) + "..."
}
