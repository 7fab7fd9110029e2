package cli

import (
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/rddproject/rdd/history"
	"github.com/rddproject/rdd/home"
)

func (a *app) historyCommand() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "history [-o yaml|json]",
		Short: "List the desired contents the daemon applied, newest first",
		Long: `List the valid desired contents the daemon applied, newest first, as kept in
HOME/run/history/ (the last 50): generation, when it was applied, its
digest, and the verdict it reached. An invalid edit is never applied, so
it is not listed. The EFFECT column says what applying it cost, once the
daemon plans changes ("-" until then).`,
		Example: `  rdd history
  rdd history -o json | jq '.[0].generation'
  rdd diff 12          # what changed since generation 12
  rdd rollback 12      # go back to it`,
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
			entries, err := history.Open(h.History()).List()
			if err != nil {
				return err
			}
			if entries == nil {
				entries = []history.Entry{}
			}
			if done, err := a.printStructured(output, entries); done {
				return err
			}
			w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "GEN\tTIME\tDIGEST\tVERDICT\tEFFECT")
			for _, e := range entries {
				verdict := orDash(e.Verdict)
				if e.Reason != "" {
					verdict += " (" + e.Reason + ")"
				}
				fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\n", e.Generation, e.Time.Local().Format("2006-01-02 15:04:05"),
					shortDigest(e.Digest), verdict, "-")
			}
			w.Flush()
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "yaml or json (default: a table)")
	return cmd
}

// parseGeneration reads a GEN argument: 12 or g12.
func parseGeneration(arg string) (int64, error) {
	g, err := strconv.ParseInt(strings.TrimPrefix(arg, "g"), 10, 64)
	if err != nil || g <= 0 {
		return 0, withCode(ExitUsage, fmt.Errorf("%q is not a generation", arg), "write a generation number such as 12; `rdd history` lists them")
	}
	return g, nil
}

// historyFiles is every stored file of generation gen, by its name in the
// desired set (desired.yaml, desired.d/NAME.yaml).
func historyFiles(h home.Home, gen int64) (*history.Entry, map[string][]byte, error) {
	e, files, err := history.Open(h.History()).Get(gen)
	if err != nil {
		return nil, nil, withCode(ExitFailed, err, "`rdd history` lists the generations kept (the last 50 valid ones)")
	}
	return e, files, nil
}

// historyContent is the stored desired.yaml of generation gen.
func historyContent(h home.Home, gen int64) (*history.Entry, []byte, error) {
	e, files, err := historyFiles(h, gen)
	if err != nil {
		return nil, nil, err
	}
	data, ok := files[history.DesiredPath]
	if !ok {
		return nil, nil, withCode(ExitFailed, fmt.Errorf("history entry %d holds no %s (only fragments)", gen, history.DesiredPath))
	}
	return e, data, nil
}
