package schema

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Error is one problem in a desired file, at a position a person can jump
// to. Its text is `FILE:LINE:COL: field.path: what is wrong (what is allowed)`;
// Path is empty for problems that belong to no field (syntax, encoding).
// An Error about a key path rather than a file (from Kind or ParseValue)
// has no File and no position, and reads `field.path: what is wrong`.
type Error struct {
	File   string `json:"file" yaml:"file"`
	Line   int    `json:"line" yaml:"line"`
	Column int    `json:"column" yaml:"column"`
	Path   string `json:"path,omitempty" yaml:"path,omitempty"`
	Msg    string `json:"message" yaml:"message"`
	// Err is the cause, if any, for errors.Is: fs.ErrNotExist for a
	// missing file, ErrChanged for one that changed while being read.
	Err error `json:"-" yaml:"-"`
}

func (e *Error) Unwrap() error { return e.Err }

func (e *Error) Error() string {
	if e.File == "" && e.Line == 0 {
		// A problem with a key path given on a command line (Kind,
		// ParseValue): there is no place in a file to point at.
		if e.Path == "" {
			return e.Msg
		}
		return fmt.Sprintf("%s: %s", e.Path, e.Msg)
	}
	if e.Path == "" {
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s: %s", e.File, e.Line, e.Column, e.Path, e.Msg)
}

// Errors is every problem found in one file, in file order.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

func (es Errors) sort() {
	slices.SortStableFunc(es, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
}

// AsErrors returns the positioned errors carried by err: every one of an
// Errors, or the single *Error. It returns nil for any other error.
func AsErrors(err error) Errors {
	var es Errors
	if errors.As(err, &es) {
		return es
	}
	var e *Error
	if errors.As(err, &e) {
		return Errors{e}
	}
	return nil
}

// FormatPath renders a field path the way messages and `rdd set` spell it:
// segments joined by dots, a segment that is not a plain identifier quoted
// (images."busybox:1.36".state). List indexes render as [N].
func FormatPath(segs []string) string {
	var b strings.Builder
	for _, s := range segs {
		if strings.HasPrefix(s, "[") {
			b.WriteString(s)
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		if isIdent(s) {
			b.WriteString(s)
		} else {
			b.WriteString(quote(s))
		}
	}
	return b.String()
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z':
		case i > 0 && (r == '-' || r >= '0' && r <= '9'):
		default:
			return false
		}
	}
	return true
}

// quote writes s in double quotes with backslash escapes for quotes,
// backslashes and control characters, so hostile names stay on one line.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
