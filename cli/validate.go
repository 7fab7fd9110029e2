package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/rddproject/rdd/schema"
)

func (a *app) validateCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "validate [FILE]",
		Example: "  rdd validate\n  rdd validate examples/full.yaml",
		Short:   "Check a desired state file against the schema",
		Long: `Check a desired state file (default: the desired.yaml in use) against the
schema. Exit 0 when it is valid; exit 3 with every problem, each as
FILE:LINE:COL: field.path: what is wrong (what is allowed).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			path := ""
			if len(args) == 1 {
				path = args[0]
			} else {
				h, err := a.home()
				if err != nil {
					return err
				}
				path = h.Desired
			}
			if _, _, err := schema.Default().Load(path); err != nil {
				return withCode(ExitInvalid, err, invalidHint)
			}
			fmt.Fprintf(a.stderr, "rdd: %s is valid\n", path)
			return nil
		},
	}
}

const invalidHint = "fix the lines above and run `rdd validate` again; `rdd schema` shows every field"
