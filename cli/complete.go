package cli

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/rddproject/rdd/schema"
)

// completeKeys completes KEY (for rdd get) or KEY=VALUE (for rdd set, with
// assign) from the schema: the fields of the record typed so far, and
// after "=" the values of an enum. Map keys (containers.NAME) are the
// user's own and are not guessed.
func completeKeys(assign bool) cobra.CompletionFunc {
	return func(_ *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if !assign && len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		out := keyCompletions(schema.Default(), toComplete, assign)
		dir := cobra.ShellCompDirectiveNoFileComp
		for _, c := range out {
			if strings.HasSuffix(c, ".") || strings.HasSuffix(c, "=") {
				dir |= cobra.ShellCompDirectiveNoSpace // more follows
			}
		}
		return out, dir
	}
}

// keyCompletions lists the completions of a partly typed KEY or
// KEY=VALUE. A scalar key completes with "=" after it (rdd set); a record
// or a map with "." so the next segment follows.
func keyCompletions(s *schema.Schema, typed string, assign bool) []string {
	if key, val, ok := strings.Cut(typed, "="); ok && assign {
		path, err := schema.ParsePath(key)
		if err != nil {
			return nil
		}
		c, err := s.Complete(path)
		if err != nil {
			return nil
		}
		var out []string
		for _, v := range c.Values {
			if strings.HasPrefix(v, val) {
				out = append(out, key+"="+v)
			}
		}
		return out
	}
	parent, prefix := "", typed
	if i := strings.LastIndexByte(typed, '.'); i >= 0 {
		parent, prefix = typed[:i], typed[i+1:]
	}
	var path []string
	if parent != "" {
		var err error
		if path, err = schema.ParsePath(parent); err != nil {
			return nil
		}
	}
	c, err := s.Complete(path)
	if err != nil || c.Kind != schema.KindRecord {
		return nil
	}
	var out []string
	for _, f := range c.Fields {
		if !strings.HasPrefix(f, prefix) {
			continue
		}
		full := f
		if parent != "" {
			full = parent + "." + f
		}
		fc, err := s.Complete(append(path[:len(path):len(path)], f))
		switch {
		case err != nil:
			continue
		case fc.Kind == schema.KindRecord || fc.Kind == schema.KindMap:
			out = append(out, full+".")
		case assign:
			out = append(out, full+"=")
		default:
			out = append(out, full)
		}
	}
	return out
}
