package desiredit

import (
	"fmt"
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
