package cli

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/rddproject/rdd/pidlock"
	"github.com/rddproject/rdd/statusdir"
)

func (a *app) eventsCommand() *cobra.Command {
	var follow bool
	var since, output string
	cmd := &cobra.Command{
		Use:   "events [--follow] [--since 10m|gGEN] [-o json]",
		Short: "Show what happened: new contents, verdicts, conditions, actions, objects, corrections",
		Long: `Show the daemon's events from status/events.jsonl (and events.jsonl.1, the
file before the last rotation), oldest first: a table by default, or with
-o json the lines as written, one JSON object each, for scripts.

--since 10m shows the events of the last ten minutes (any Go duration);
--since g12 those of generation 12 and later. --follow then keeps printing
new events as the daemon appends them, across rotations, until interrupted:
SIGINT or SIGTERM ends it with exit 0. --follow exits 5 when no daemon runs.`,
		Example: `  rdd events                       # everything kept, as a table
  rdd events --since 1h            # the last hour
  rdd events --since g12 -o json   # generation 12 on, for jq
  rdd events --follow -o json | jq -r 'select(.type=="verdict") | .to'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch output {
			case "", "json":
			default:
				return withCode(ExitUsage, fmt.Errorf("unknown output format %q", output), "use -o json, or no -o for a table")
			}
			keep, err := parseSince(since, time.Now())
			if err != nil {
				return err
			}
			h, err := a.home()
			if err != nil {
				return err
			}
			print := a.eventPrinter(output == "json", keep)
			if !follow {
				return statusdir.ReadEvents(h.Status(), print)
			}
			if running, _, err := pidlock.Held(h.Lock()); err != nil {
				return err
			} else if !running {
				return withCode(ExitNoDaemon, fmt.Errorf("no rdd daemon is running for %s: there are no events to follow", h.Dir),
					"start it with `rdd daemon`, or drop --follow to see the events kept")
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
			defer stop()
			return statusdir.FollowEvents(ctx, h.Status(), print)
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&follow, "follow", "f", false, "keep printing new events until interrupted")
	fl.StringVar(&since, "since", "", "only events this recent (10m, 2h) or from this generation on (g12)")
	fl.StringVarP(&output, "output", "o", "", "json (default: a table)")
	return cmd
}

// parseSince turns --since into a filter on events.
func parseSince(since string, now time.Time) (func(statusdir.Event) bool, error) {
	if since == "" {
		return func(statusdir.Event) bool { return true }, nil
	}
	if g, ok := strings.CutPrefix(since, "g"); ok {
		gen, err := strconv.ParseInt(g, 10, 64)
		if err == nil && gen >= 0 {
			return func(e statusdir.Event) bool { return e.Generation >= gen }, nil
		}
	}
	d, err := time.ParseDuration(since)
	if err != nil || d < 0 {
		return nil, withCode(ExitUsage, fmt.Errorf("--since %q: want a duration such as 10m or 2h, or a generation such as g12", since))
	}
	from := now.Add(-d)
	return func(e statusdir.Event) bool { return !e.Time.Before(from) }, nil
}

// eventPrinter prints the lines that keep selects: as they are, or as
// table rows under a header printed before the first.
func (a *app) eventPrinter(raw bool, keep func(statusdir.Event) bool) func([]byte) error {
	header := false
	return func(line []byte) error {
		e, err := statusdir.ParseEvent(line)
		if err != nil {
			return fmt.Errorf("read events: %q: %w", line, err)
		}
		if !keep(e) {
			return nil
		}
		if raw {
			_, err := fmt.Fprintf(a.stdout, "%s\n", line)
			return err
		}
		if !header {
			header = true
			fmt.Fprintln(a.stdout, eventRow("TIME", "GEN", "TYPE", "WHAT", "CHANGE", "REASON", "MESSAGE"))
		}
		_, err = fmt.Fprintln(a.stdout, formatEvent(e))
		return err
	}
}

// formatEvent is one table row. Rows have fixed columns rather than a
// tabwriter's, so that --follow prints each at once.
func formatEvent(e statusdir.Event) string {
	what := e.Name
	if e.Kind != "" {
		what = strings.TrimSuffix(e.Kind+" "+e.Name, " ")
	}
	change := e.To
	switch {
	case e.Type == statusdir.EventDesired:
		change = shortDigest(e.To)
	case e.From != "" || e.Type == statusdir.EventCondition || e.Type == statusdir.EventVerdict:
		change = orDash(e.From) + " -> " + orDash(e.To)
	}
	return eventRow(e.Time.Local().Format("2006-01-02 15:04:05"), strconv.FormatInt(e.Generation, 10), e.Type,
		what, change, e.Reason, firstLine(e.Message))
}

func eventRow(time, gen, typ, what, change, reason, msg string) string {
	return strings.TrimRight(fmt.Sprintf("%-19s  %4s  %-10s  %-24s  %-22s  %-14s  %s", time, gen, typ, what, change, reason, msg), " ")
}
