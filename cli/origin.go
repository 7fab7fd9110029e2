package cli

import (
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/rddproject/rdd/home"
	"github.com/rddproject/rdd/schema"
)

// printOrigins prints every value of d under the key in args (all of them
// without one), a line each: key, value, and where it was set (m: the
// merged files; nil when there is no desired file).
func (a *app) printOrigins(h home.Home, d *schema.Desired, m *schema.Merged, args []string) error {
	var segs []string
	var v any
	var err error
	if len(args) == 1 {
		if segs, err = schema.ParsePath(args[0]); err == nil {
			v, err = lookup(d, args[0])
		}
	} else {
		v, err = lookup(d, "")
	}
	if err != nil {
		return withCode(ExitUsage, err, "run `rdd get` to see every key")
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	for _, leaf := range leaves(segs, v) {
		where := "default"
		if m != nil {
			if o, ok := m.Origin(leaf.path); ok {
				where = fmt.Sprintf("%s:%d", shownPath(h, o.File), o.Line)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", schema.FormatPath(leaf.path), leaf.value, where)
	}
	return tw.Flush()
}

type leaf struct {
	path  []string
	value string
}

// leaves flattens a generic value into its scalars, lists and empty
// mappings, in key order. A list is one value: a later file replaces it
// whole, so it has one origin.
func leaves(path []string, v any) []leaf {
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		return []leaf{{path: path, value: render(v)}}
	}
	var out []leaf
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, leaves(append(slices.Clip(path), k), m[k])...)
	}
	return out
}

// render writes a value on one line: a scalar bare, anything else as JSON.
func render(v any) string {
	switch s := v.(type) {
	case string:
		if s == "" {
			return `""`
		}
		return s
	case bool:
		return strconv.FormatBool(s)
	case float64:
		return strconv.FormatFloat(s, 'f', -1, 64)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// shownPath names a file relative to the home when it is inside it.
func shownPath(h home.Home, p string) string {
	if rel, err := filepath.Rel(h.Dir, p); err == nil && !strings.HasPrefix(rel, "..") && !filepath.IsAbs(rel) {
		return rel
	}
	return p
}
