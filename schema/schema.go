package schema

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"
	"go.yaml.in/yaml/v3"
)

//go:embed desired.cue
var source []byte

// Source returns the CUE text of the schema, as embedded in the binary.
func Source() []byte { return bytes.Clone(source) }

// Schema is the compiled desired-state schema for one host OS (the OS only
// picks defaults such as the VM type). A Schema is safe for concurrent use;
// CUE evaluation is serialised internally.
type Schema struct {
	mu     sync.Mutex
	ctx    *cue.Context
	root   cue.Value // #Desired
	top    cue.Value // _, used to ask "what may stand at this key?"
	bottom cue.Value // _|_, the schema of a field that is not allowed
}

// New compiles the embedded schema with the defaults of goos.
func New(goos string) (*Schema, error) {
	ctx := cuecontext.New()
	v := ctx.CompileBytes(source, cue.Filename("desired.cue"))
	if err := v.Err(); err != nil {
		return nil, fmt.Errorf("compile embedded schema: %w", err)
	}
	switch goos {
	case "linux", "darwin", "windows":
	default:
		goos = "linux"
	}
	v = v.FillPath(cue.ParsePath("#GOOS"), goos)
	root := v.LookupPath(cue.ParsePath("#Desired"))
	if err := root.Err(); err != nil {
		return nil, fmt.Errorf("embedded schema has no #Desired: %w", err)
	}
	return &Schema{ctx: ctx, root: root, top: ctx.CompileString("_"), bottom: ctx.CompileString("_|_")}, nil
}

// Default is the schema for the OS this binary runs on.
var Default = sync.OnceValue(func() *Schema {
	s, err := New(runtime.GOOS)
	if err != nil {
		// The schema is embedded and compiled by the tests; failing here
		// means the binary itself is broken.
		panic(err)
	}
	return s
})

// Digest is the identity of a desired file's content: "sha256:" and the hex
// of its bytes. A writer knows the digest of what it wrote without asking.
func Digest(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Load reads and validates the desired file at path, including the checks
// of CheckFiles. It returns the bytes read (for the digest) even when they
// are invalid.
func (s *Schema) Load(path string) (*Desired, []byte, error) {
	data, err := ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	d, err := s.Parse(path, data)
	if err == nil {
		err = CheckFiles(path, data, d)
	}
	if err != nil {
		return nil, data, err
	}
	return d, data, nil
}

// Parse validates data, naming it file in errors, and returns the desired
// state with defaults applied. An error is an Errors holding every problem.
func (s *Schema) Parse(file string, data []byte) (*Desired, error) {
	data, err := checkEncoding(file, data)
	if err != nil {
		return nil, Errors{err.(*Error)}
	}
	doc, err := parseYAML(file, data)
	if err != nil {
		return nil, Errors{err.(*Error)}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	w := &walker{s: s, file: file, budget: maxNodes}
	val := w.document(doc)
	if len(w.errs) > 0 {
		w.errs.sort()
		return nil, w.errs
	}
	d, err := s.decode(file, doc, val)
	if err != nil {
		return nil, err
	}
	if errs := checkPortForwards(file, doc, d); len(errs) > 0 {
		return nil, errs
	}
	return d, nil
}

// Defaults returns the desired state of an empty file.
func (s *Schema) Defaults() *Desired {
	d, err := s.Parse("defaults", nil)
	if err != nil {
		panic(fmt.Sprintf("schema defaults do not validate: %v", err))
	}
	return d
}

// maxNodes caps the nodes visited while expanding aliases: a real desired
// file has a few hundred; an alias bomb has billions.
const maxNodes = 20_000

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseYAML parses exactly one YAML document into nodes with positions.
func parseYAML(file string, data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return &yaml.Node{}, nil // empty file: every default
		}
		return nil, syntaxError(file, data, err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, syntaxError(file, data, err)
	default:
		return nil, &Error{File: file, Line: max(extra.Line, 1), Column: max(extra.Column, 1),
			Msg: "a second YAML document (after ---); desired.yaml holds exactly one"}
	}
	return &doc, nil
}

// syntaxError turns the YAML parser's "yaml: line N: ..." into a positioned
// error. The parser knows only the line, so the column is that of the
// line's first non-blank character. A quote or flow bracket left open is
// reported where it opens, since the parser only notices it where the file
// ends; and a line past the end of the file (the parser's way of saying
// "at the end") is clamped to the end of the last line.
func syntaxError(file string, data []byte, err error) *Error {
	msg := err.Error()
	line := 0
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	if endOfStream(msg) {
		if o, ok := unclosed(data); ok {
			return &Error{File: file, Line: o.line, Column: o.col, Msg: "YAML syntax error: " + unclosedMessage(o.char)}
		}
	}
	lines := splitLines(data)
	var col int
	var tab bool
	switch {
	case line < 1 || line > len(lines):
		// Past the end: the last line that holds anything, just after
		// its last character.
		line = max(len(lines), 1)
		for line > 1 && len(bytes.TrimSpace(lines[line-1])) == 0 {
			line--
		}
		if len(lines) > 0 {
			col = utf8.RuneCount(bytes.TrimRight(lines[line-1], " \t")) + 1
		} else {
			col = 1
		}
	default:
		col, tab = firstColumn(lines[line-1])
	}
	hint := " (check indentation, quoting and the ':' after each key)"
	if tab {
		hint = " (YAML indents with spaces, never tabs)"
	}
	return &Error{File: file, Line: line, Column: col, Msg: "YAML syntax error: " + msg + hint}
}

// endOfStream tells the parser's messages for a file that ended inside a
// quoted scalar or a flow collection.
func endOfStream(msg string) bool {
	return strings.Contains(msg, "unexpected end of stream") ||
		strings.HasPrefix(msg, "did not find expected ',' or")
}

func unclosedMessage(c byte) string {
	switch c {
	case '[':
		return "this [ is never closed (end the list with ], and separate its items with commas)"
	case '{':
		return "this { is never closed (end the mapping with }, and separate its entries with commas)"
	}
	return fmt.Sprintf("this quoted string is never closed (end it with %c)", c)
}

// splitLines splits data into lines the way YAML does: at \n, \r\n and a
// lone \r. A final line break ends the last line rather than starting one.
func splitLines(data []byte) [][]byte {
	var lines [][]byte
	for len(data) > 0 {
		i := bytes.IndexAny(data, "\r\n")
		if i < 0 {
			lines = append(lines, data)
			break
		}
		lines = append(lines, data[:i])
		if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i++
		}
		data = data[i+1:]
	}
	return lines
}

// firstColumn returns the column of the line's first non-blank character,
// or of its first tab when tabs indent it.
func firstColumn(l []byte) (col int, tab bool) {
	indent := l[:len(l)-len(bytes.TrimLeft(l, " \t"))]
	if i := bytes.IndexByte(indent, '\t'); i >= 0 {
		return i + 1, true
	}
	return len(indent) + 1, false
}

// decode unifies the checked value with the schema, applies defaults and
// decodes into Go types. The walk has already explained every problem it can
// see; a failure here comes from a constraint spanning several fields, and
// is reported at the closest position the walk recorded.
func (s *Schema) decode(file string, doc *yaml.Node, val any) (*Desired, error) {
	if val == nil {
		val = map[string]any{}
	}
	v := s.root.Unify(s.ctx.Encode(val))
	var d Desired
	err := v.Validate(cue.Concrete(true))
	if err == nil {
		err = v.Decode(&d)
	}
	if err != nil {
		return nil, Errors{&Error{File: file, Line: max(doc.Line, 1), Column: max(doc.Column, 1),
			Msg: "does not satisfy the schema: " + strings.ReplaceAll(err.Error(), "#Desired.", "")}}
	}
	return &d, nil
}
