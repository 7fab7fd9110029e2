package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rddproject/rdd/desired"
	"github.com/rddproject/rdd/schema"
)

func (a *app) validateCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "validate [FILE]",
		Example: "  rdd validate                     # desired.yaml and desired.d/*.yaml\n  rdd validate examples/full.yaml\n  rdd validate ~/.rd/desired.d/20-work.yaml",
		Short:   "Check the desired state, or one file, against the schema",
		Long: `Check the desired state in use against the schema: the desired file and
every fragment of HOME/desired.d/, each on its own, then the result of
applying the fragments over the desired file. With FILE, check that one
file alone as a whole desired state. Exit 0 when valid; exit 3 with every
problem, each as FILE:LINE:COL: field.path: what is wrong (what is
allowed); a problem of the merged result names the file that supplied
the value.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			if len(args) == 1 {
				path := args[0]
				if _, _, err := schema.Default().Load(path); err != nil {
					return withCode(ExitInvalid, err, invalidHint)
				}
				fmt.Fprintf(a.stderr, "rdd: %s is valid\n", path)
				return nil
			}
			h, err := a.home()
			if err != nil {
				return err
			}
			set, err := desired.Read(desired.SourceOf(h))
			if err == nil {
				_, _, err = set.Validate(schema.Default())
			}
			if err != nil {
				return withCode(ExitInvalid, err, invalidHint)
			}
			if !set.Fragmented() {
				fmt.Fprintf(a.stderr, "rdd: %s is valid\n", h.Desired)
				return nil
			}
			var names []string
			for _, f := range set.Files {
				names = append(names, shownPath(h, f.Path))
			}
			fmt.Fprintf(a.stderr, "rdd: the desired state is valid (%s)\n", strings.Join(names, ", "))
			return nil
		},
	}
}

const invalidHint = "fix the lines above and run `rdd validate` again; `rdd schema` shows every field"
