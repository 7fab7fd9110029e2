package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/rddproject/rdd/schema"
)

func (a *app) getCommand() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:               "get [KEY] [-o yaml|json]",
		Example:           "  rdd get\n  rdd get vm.cpus\n  rdd get vm -o json",
		ValidArgsFunction: completeKeys(false),
		Short:             "Print desired values, with defaults applied",
		Long: `Print the desired state with every default applied, or the value at KEY
(a dotted path such as vm.cpus or images."busybox:1.36".state). A scalar
prints bare, ready for shell scripts; a mapping prints as YAML or JSON.
Without a desired file, the defaults are printed.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			if output != "yaml" && output != "json" {
				return withCode(ExitUsage, fmt.Errorf("unknown output format %q", output), "use -o yaml or -o json")
			}
			h, err := a.home()
			if err != nil {
				return err
			}
			d, _, err := schema.Default().Load(h.Desired)
			if err != nil {
				if !errors.Is(statErr(h.Desired), fs.ErrNotExist) {
					return withCode(ExitInvalid, err, invalidHint)
				}
				fmt.Fprintf(a.stderr, "rdd: %s does not exist; showing the defaults\n", h.Desired)
				d = schema.Default().Defaults()
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
	return cmd
}

// lookup returns the value at a dotted key path of d, going through its
// generic (JSON) form so map keys and struct fields are addressed alike.
func lookup(d *schema.Desired, key string) (any, error) {
	segs, err := schema.ParsePath(key)
	if err != nil {
		return nil, err
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
