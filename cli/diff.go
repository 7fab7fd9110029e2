package cli

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/spf13/cobra"

	"github.com/rddproject/rdd/desiredit"
	"github.com/rddproject/rdd/schema"
)

func (a *app) diffCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "diff GEN [GEN]",
		Short: "Show how two applied generations differ, or one and the file now",
		Long: `Print a unified diff between the desired file as it was applied at
generation GEN (from HOME/run/history/, see rdd history) and the desired
file as it is now, or between two generations, the older first as given.
Nothing is printed when they are equal; the exit code is 0 either way.`,
		Example: `  rdd diff 12        # from generation 12 to the file now
  rdd diff 11 12     # what generation 12 changed
  rdd diff g11 g12   # the same`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(_ *cobra.Command, args []string) error {
			h, err := a.home()
			if err != nil {
				return err
			}
			gen, err := parseGeneration(args[0])
			if err != nil {
				return err
			}
			var gen2 int64
			if len(args) == 2 {
				if gen2, err = parseGeneration(args[1]); err != nil {
					return err
				}
			}
			e, old, err := historyContent(h, gen)
			if err != nil {
				return err
			}
			oldName := fmt.Sprintf("generation %d (%s)", gen, shortDigest(e.Digest))
			var cur []byte
			var curName string
			if gen2 != 0 {
				e2, data, err := historyContent(h, gen2)
				if err != nil {
					return err
				}
				cur, curName = data, fmt.Sprintf("generation %d (%s)", gen2, shortDigest(e2.Digest))
			} else {
				data, err := schema.ReadFile(h.Desired)
				switch {
				case errors.Is(err, fs.ErrNotExist):
					curName = "/dev/null"
				case err != nil:
					return withCode(ExitInvalid, err, "point the desired file at a real file")
				default:
					cur, curName = data, fmt.Sprintf("%s (now, %s)", h.Desired, shortDigest(schema.Digest(data)))
				}
			}
			_, err = a.stdout.Write(desiredit.Diff(oldName, curName, old, cur))
			return err
		},
	}
	return cmd
}
