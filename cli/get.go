package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/rddproject/rdd/desired"
	"github.com/rddproject/rdd/schema"
)

func (a *app) getCommand() *cobra.Command {
	var output string
	var origin bool
	cmd := &cobra.Command{
		Use:               "get [KEY] [-o yaml|json] [--origin]",
		Example:           "  rdd get\n  rdd get vm.cpus\n  rdd get vm -o json\n  rdd get --origin vm.cpus   # 4  desired.d/20-work.yaml:3\n  rdd get --origin vm",
		ValidArgsFunction: completeKeys(false),
		Short:             "Print desired values, with defaults applied",
		Long: `Print the desired state with every default applied, or the value at KEY
(a dotted path such as vm.cpus or images."busybox:1.36".state). A scalar
prints bare, ready for shell scripts; a mapping prints as YAML or JSON.
Without a desired file, the defaults are printed. The desired state is
desired.yaml with the fragments of HOME/desired.d/ applied over it.

--origin prints each value (every value under KEY, or all of them) on a
line of its own: its key, its value, and the file:line it came from
(relative to HOME when inside it), or "default" when no file sets it.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			if output != "yaml" && output != "json" {
				return withCode(ExitUsage, fmt.Errorf("unknown output format %q", output), "use -o yaml or -o json")
			}
			h, err := a.home()
			if err != nil {
				return err
			}
			var d *schema.Desired
			var m *schema.Merged
			set, err := desired.Read(desired.SourceOf(h))
			if err == nil {
				d, m, err = set.Validate(schema.Default())
			}
			if err != nil {
				if !errors.Is(err, desired.ErrMissing) {
					return withCode(ExitInvalid, err, invalidHint)
				}
				fmt.Fprintf(a.stderr, "rdd: %s does not exist; showing the defaults\n", h.Desired)
				d = schema.Default().Defaults()
			}
			if origin {
				return a.printOrigins(h, d, m, args)
			}
			var v any = d
			if len(args) == 1 {
				if v, err = lookup(d, args[0]); err != nil {
					return withCode(ExitUsage, err, "run `rdd get` to see every key")
				}
			}
			return printValue(a, v, output)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "yaml", "yaml or json")
	cmd.Flags().BoolVar(&origin, "origin", false, "print each value with the file:line it came from, or default")
	return cmd
}

// lookup returns the value at a dotted key path of d, going through its
// generic (JSON) form so map keys and struct fields are addressed alike.
// An empty key is the whole state.
func lookup(d *schema.Desired, key string) (any, error) {
	var segs []string
	var err error
	if key != "" {
		if segs, err = schema.ParsePath(key); err != nil {
			return nil, err
		}
	}
	raw, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("encode desired state: %w", err)
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("decode desired state: %w", err)
	}
	for i, seg := range segs {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s is not a mapping; %s has no key %q", schema.FormatPath(segs[:i]), schema.FormatPath(segs[:i]), seg)
		}
		if v, ok = m[seg]; !ok {
			return nil, fmt.Errorf("no key %s in the desired state", schema.FormatPath(segs[:i+1]))
		}
	}
	return v, nil
}

func printValue(a *app, v any, output string) error {
	switch s := v.(type) {
	case string, bool, float64, int:
		fmt.Fprintln(a.stdout, s)
		return nil
	}
	if output == "json" {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return fmt.Errorf("encode JSON: %w", err)
		}
		fmt.Fprintln(a.stdout, string(b))
		return nil
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("encode YAML: %w", err)
	}
	_, err := a.stdout.Write(buf.Bytes())
	return err
}
