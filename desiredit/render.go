package desiredit

import (
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"
)

// render writes value as a YAML scalar for a block or flow context. A
// string replacing a quoted one keeps its quotes when it can; otherwise it
// is plain when YAML reads the plain text back as the same string, and
// double-quoted when not ("true", "~", "1.30", "a: b").
func render(value any, flow bool, old yaml.Style) string {
	switch v := value.(type) {
	case flowText:
		return string(v)
	case bool:
		return strconv.FormatBool(v)
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case string:
		switch old &^ yaml.TaggedStyle {
		case yaml.DoubleQuotedStyle:
			return strconv.Quote(v)
		case yaml.SingleQuotedStyle:
			if printable(v) {
				return "'" + strings.ReplaceAll(v, "'", "''") + "'"
			}
		}
		if plainOK(v, flow) {
			return v
		}
		return strconv.Quote(v)
	}
	panic(fmt.Sprintf("desiredit: unsupported value type %T", value))
}

// flowText is a list or mapping rendered by flowValue: one line of YAML
// flow syntax, the same in a block or a flow context.
type flowText string

// flowValue renders the list or mapping n as flow text and returns it with
// its decoded value. Strings are written plain when they read back as the
// same string, double-quoted otherwise; keys as renderKey writes them;
// other scalars in YAML's canonical form. The text must decode to what n
// decodes to, or the value is refused.
func flowValue(n *yaml.Node) (flowText, any, error) {
	if n.Kind != yaml.SequenceNode && n.Kind != yaml.MappingNode {
		return "", nil, fmt.Errorf("a value node must be a list or a mapping, not %s", describe(n))
	}
	var b strings.Builder
	if err := writeFlow(&b, n, 0); err != nil {
		return "", nil, err
	}
	var want any
	if err := n.Decode(&want); err != nil {
		return "", nil, fmt.Errorf("decode value: %w", err)
	}
	got, err := decodeScalar(b.String())
	if err != nil {
		return "", nil, err
	}
	if !reflect.DeepEqual(got, want) {
		return "", nil, fmt.Errorf("%w: the value written as %s would not read back the same", ErrLayout, b.String())
	}
	return flowText(b.String()), got, nil
}

// maxFlowDepth bounds the nesting of a value to write.
const maxFlowDepth = 100

func writeFlow(b *strings.Builder, n *yaml.Node, depth int) error {
	if depth > maxFlowDepth {
		return fmt.Errorf("value nested deeper than %d levels", maxFlowDepth)
	}
	switch n.Kind {
	case yaml.MappingNode, yaml.SequenceNode:
		open, close := "[", "]"
		if n.Kind == yaml.MappingNode {
			open, close = "{", "}"
		}
		b.WriteString(open)
		step := 1
		if n.Kind == yaml.MappingNode {
			step = 2
		}
		for i := 0; i+step-1 < len(n.Content); i += step {
			if i > 0 {
				b.WriteString(", ")
			}
			if n.Kind == yaml.MappingNode {
				k := n.Content[i]
				if k.Kind != yaml.ScalarNode || k.ShortTag() != "!!str" {
					return fmt.Errorf("a key must be a string, not %s", describe(k))
				}
				b.WriteString(renderKey(k.Value, true) + ": ")
			}
			if err := writeFlow(b, n.Content[i+step-1], depth+1); err != nil {
				return err
			}
		}
		b.WriteString(close)
		return nil
	case yaml.ScalarNode:
		if n.ShortTag() == "!!str" {
			b.WriteString(render(n.Value, true, 0))
			return nil
		}
		var v any
		if err := n.Decode(&v); err != nil {
			return fmt.Errorf("decode %s: %w", n.Value, err)
		}
		var c yaml.Node
		if err := c.Encode(v); err != nil || c.Kind != yaml.ScalarNode {
			return fmt.Errorf("cannot write the %s value %s", n.ShortTag(), n.Value)
		}
		b.WriteString(c.Value)
		return nil
	}
	return fmt.Errorf("cannot write %s in a value", describe(n))
}

// identKey is a key that reads well unquoted.
var identKey = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)

// renderKey writes a new key: plain when it is a simple name that YAML reads
// as that string, double-quoted otherwise ("busybox:1.36", "ghcr.io/x/y").
func renderKey(k string, flow bool) string {
	if identKey.MatchString(k) && plainOK(k, flow) {
		return k
	}
	return strconv.Quote(k)
}

// plainOK reports whether s, written without quotes, reads back as the
// string s in the given context.
func plainOK(s string, flow bool) bool {
	if s == "" || strings.TrimSpace(s) != s || !printable(s) || strings.ContainsAny(s, "\t") {
		return false
	}
	if strings.ContainsRune("-?:,[]{}#&*!|>'\"%@`", rune(s[0])) {
		return false
	}
	if strings.Contains(s, ": ") || strings.Contains(s, " #") || strings.HasSuffix(s, ":") {
		return false
	}
	if flow && strings.ContainsAny(s, ",[]{}:#") {
		return false
	}
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(s), &n); err != nil || len(n.Content) != 1 {
		return false
	}
	v := n.Content[0]
	return v.Kind == yaml.ScalarNode && v.Style == 0 && v.ShortTag() == "!!str" && v.Value == s
}

// printable: no control characters, no line breaks.
func printable(s string) bool {
	for _, r := range s {
		if !unicode.IsPrint(r) && r != ' ' {
			return false
		}
	}
	return true
}

// decodeScalar decodes a rendered scalar the way the whole file decodes.
func decodeScalar(text string) (any, error) {
	var v any
	if err := yaml.Unmarshal([]byte(text), &v); err != nil {
		return nil, fmt.Errorf("render value %s: %w", text, err)
	}
	return v, nil
}
