package cli

import (
	"encoding/json"
	"fmt"

	"github.com/rddproject/rdd/statusdir"
)

// printStructured writes v as JSON (indented) or YAML (the status files'
// own rendering) for -o json|yaml, and reports false for any other format,
// which the caller renders as its table.
func (a *app) printStructured(output string, v any) (bool, error) {
	switch output {
	case "json":
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return true, fmt.Errorf("encode JSON: %w", err)
		}
		_, err = fmt.Fprintln(a.stdout, string(b))
		return true, err
	case "yaml":
		b, err := statusdir.Marshal(v)
		if err != nil {
			return true, fmt.Errorf("encode YAML: %w", err)
		}
		_, err = a.stdout.Write(b)
		return true, err
	}
	return false, nil
}
