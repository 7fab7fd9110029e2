package cli

import (
	_ "embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/rddproject/rdd/atomicfile"
	"github.com/rddproject/rdd/schema"

	"github.com/spf13/cobra"
)

//go:embed templates/desired.yaml
var initTemplate []byte

// schemaFile is the JSON Schema rdd init writes beside desired.yaml; the
// template's first line names it for a YAML language server.
const schemaFile = "desired.schema.json"

func (a *app) initCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "init",
		Example: "  rdd init\n  rdd --home ~/.rd-test init",
		Short:   "Write a commented default desired.yaml if none exists",
		Long: `Write a commented default desired.yaml (every value a default) if none
exists, and desired.schema.json beside it: the JSON Schema of the file,
with every field's description and default, which the file's first line
points a YAML language server at (completion and checks in an editor).
An existing desired.yaml is never overwritten; the schema file beside it
is rdd's own and is written again.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			h, err := a.home()
			if err != nil {
				return err
			}
			if _, err := os.Lstat(h.Desired); err == nil {
				return withCode(ExitFailed, fmt.Errorf("%s already exists; not overwriting it", h.Desired),
					"edit it, or run `rdd set KEY=VALUE`; `rdd validate` checks it")
			} else if !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("check %q: %w", h.Desired, err)
			}
			if err := os.MkdirAll(filepath.Dir(h.Desired), 0o755); err != nil {
				return fmt.Errorf("create directory for %q: %w", h.Desired, err)
			}
			// O_EXCL: a file created since the check above is never
			// overwritten.
			f, err := os.OpenFile(h.Desired, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
			if err != nil {
				return fmt.Errorf("create %q: %w", h.Desired, err)
			}
			if _, err := f.Write(initTemplate); err != nil {
				f.Close()
				return fmt.Errorf("write %q: %w", h.Desired, err)
			}
			if err := f.Close(); err != nil {
				return fmt.Errorf("write %q: %w", h.Desired, err)
			}
			fmt.Fprintf(a.stderr, "rdd: wrote %s\n", h.Desired)
			js, err := schema.Default().JSONSchema()
			if err != nil {
				return fmt.Errorf("render the JSON Schema: %w", err)
			}
			path := filepath.Join(filepath.Dir(h.Desired), schemaFile)
			if err := atomicfile.Write(path, js, 0o644); err != nil {
				return fmt.Errorf("write %q: %w", path, err)
			}
			fmt.Fprintf(a.stderr, "rdd: wrote %s (editors complete desired.yaml from it)\n", path)
			return nil
		},
	}
}
