package schema

import (
	"strings"
	"testing"
)

// Syntax errors point at a real position: an unclosed quote or flow at its
// opening, an error at the end of the file at the end of its last line,
// never a line the file does not have.
func TestSyntaxErrorPositions(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"running: \"true", `d.yaml:1:10: YAML syntax error: this quoted string is never closed (end it with ")`},
		{"running: \"true\n", `d.yaml:1:10: YAML syntax error: this quoted string is never closed (end it with ")`},
		{"running: 'true\n\n\n", `d.yaml:1:10: YAML syntax error: this quoted string is never closed (end it with ')`},
		{"vm:\n  cpus: 2\n  memory: \"4GiB\n", `d.yaml:3:11: YAML syntax error: this quoted string is never closed`},
		{"a: 'it''s\n", `d.yaml:1:4: YAML syntax error: this quoted string is never closed (end it with ')`},
		{"a: \"x\\\"\n", `d.yaml:1:4: YAML syntax error: this quoted string is never closed`},
		{"# don't\nb: don't\nc: \"x\n", `d.yaml:3:4: YAML syntax error: this quoted string is never closed`},
		{"a: |\n  don't \"\nb: \"x\n", `d.yaml:3:4: YAML syntax error: this quoted string is never closed`},
		{"vm: {cpus: 2\n", `d.yaml:1:5: YAML syntax error: this { is never closed (end the mapping with }, and separate its entries with commas)`},
		{"vm:\n  mounts: [{location: /x}, {location: /y}\nrunning: true\n", `d.yaml:2:11: YAML syntax error: this [ is never closed`},
		{"vm: {mounts: [\"~\"], cpus: \"2}\n", `d.yaml:1:27: YAML syntax error: this quoted string is never closed`},
		{"é: \"x", `d.yaml:1:4: YAML syntax error: this quoted string is never closed`},
		// Not an unclosed opener: the parser's own line, clamped to the file.
		{"vm:\n    cpus: 2\n  memory: 4GiB\n", `d.yaml:2:5: YAML syntax error: did not find expected key`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			_, err := Default().Parse("d.yaml", []byte(tc.in))
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("got  %v\nwant %s", err, tc.want)
			}
			es := AsErrors(err)
			if lines := len(splitLines([]byte(tc.in))); es[0].Line > lines {
				t.Errorf("line %d of a %d-line file", es[0].Line, lines)
			}
		})
	}
}

func TestSplitLines(t *testing.T) {
	for in, want := range map[string]int{"": 0, "a": 1, "a\n": 1, "a\nb": 2, "a\r\nb\r\n": 2, "a\rb": 2, "\n\n": 2} {
		if got := len(splitLines([]byte(in))); got != want {
			t.Errorf("splitLines(%q): %d lines, want %d", in, got, want)
		}
	}
}
