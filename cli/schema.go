package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/rddproject/rdd/schema"
)

func (a *app) schemaCommand() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:     "schema [--format cue|jsonschema]",
		Example: "  rdd schema\n  rdd schema --format jsonschema > ~/.rd/desired.schema.json",
		Short:   "Print the desired-state schema",
		Long: `Print the desired-state schema: the CUE source that rdd validates with, or
a JSON Schema generated from it. Point a YAML language server at the JSON
Schema to get completion and checks while editing desired.yaml, e.g. with
"# yaml-language-server: $schema=/path/to/rdd.schema.json" at the top.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			switch format {
			case "cue":
				_, err := a.stdout.Write(schema.Source())
				return err
			case "jsonschema", "json":
				b, err := schema.Default().JSONSchema()
				if err != nil {
					return err
				}
				_, err = a.stdout.Write(b)
				return err
			}
			return withCode(ExitUsage, fmt.Errorf("unknown --format %q", format), "use --format cue or --format jsonschema")
		},
	}
	cmd.Flags().StringVar(&format, "format", "cue", "cue or jsonschema")
	return cmd
}
