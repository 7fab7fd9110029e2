package desiredit

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/rddproject/rdd/schema"
)

// Doc is the text of a YAML document being edited.
type Doc struct {
	src   []byte
	doc   *yaml.Node // the document node; Kind 0 for an empty file
	tree  any        // src decoded, to check each edit against
	lines []int      // byte offset of the start of each line
	eol   string     // the file's line ending
}

// ErrLayout is wrapped by the error of an edit the package could not make
// while keeping the file's layout; the file has to be edited by hand.
var ErrLayout = errors.New("cannot edit this YAML in place")

// Parse reads src (possibly empty) for editing. It fails when src is not
// YAML that decodes (syntax errors, duplicate keys); callers validate
// against the schema separately.
func Parse(src []byte) (*Doc, error) {
	d := &Doc{}
	if err := d.load(bytes.Clone(src)); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *Doc) load(src []byte) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return fmt.Errorf("parse YAML: %w", err)
	}
	var tree any
	if err := yaml.Unmarshal(src, &tree); err != nil {
		return fmt.Errorf("parse YAML: %w", err)
	}
	d.src, d.doc, d.tree = src, &doc, tree
	d.lines = d.lines[:0]
	start := 0
	if bytes.HasPrefix(src, []byte("\uFEFF")) {
		start = 3 // the parser does not count the byte order mark as a column
	}
	d.lines = append(d.lines, start)
	for i, c := range src {
		if c == '\n' {
			d.lines = append(d.lines, i+1)
		}
	}
	d.eol = "\n"
	if i := bytes.IndexByte(src, '\n'); i > 0 && src[i-1] == '\r' {
		d.eol = "\r\n"
	}
	return nil
}

// Bytes returns the document's text as edited so far.
func (d *Doc) Bytes() []byte { return bytes.Clone(d.src) }

// root returns the top-level node, or nil for a document with no content.
func (d *Doc) root() *yaml.Node {
	if d.doc.Kind != yaml.DocumentNode || len(d.doc.Content) == 0 {
		return nil
	}
	r := d.doc.Content[0]
	if isEmptyNull(r) {
		return nil
	}
	return r
}

// found is how far a key path reaches into the document.
type found struct {
	depth  int        // path segments that exist
	node   *yaml.Node // the value at path[:depth]; nil for an empty document
	key    *yaml.Node // its key; nil at the root
	holder *yaml.Node // the mapping holding key; nil at the root
	flow   bool       // node is inside a flow collection
}

// find walks path as far as the document has it.
func (d *Doc) find(path []string) (found, error) {
	f := found{node: d.root()}
	for i, seg := range path {
		n := f.node
		switch {
		case n == nil || isNull(n):
			return f, nil
		case n.Kind == yaml.AliasNode:
			return f, d.errAt(n, path[:i], "is an alias (*%s); rdd set does not edit through aliases: edit the file by hand", n.Value)
		case n.Anchor != "":
			return f, d.errAt(n, path[:i], "is anchored (&%s) and may be used elsewhere; edit the file by hand", n.Anchor)
		case n.Kind != yaml.MappingNode:
			return f, d.errAt(n, path[:i], "is %s, not a mapping; it has no key %q", describe(n), seg)
		}
		flow := f.flow || n.Style&yaml.FlowStyle != 0
		k, v := lookup(n, seg)
		if k == nil {
			return f, nil
		}
		f = found{depth: i + 1, node: v, key: k, holder: n, flow: flow}
	}
	return f, nil
}

// lookup returns the pair of mapping m whose key is name.
func lookup(m *yaml.Node, name string) (k, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind == yaml.ScalarNode && k.Value == name {
			return k, m.Content[i+1]
		}
	}
	return nil, nil
}

// Set sets the value at path to value, adding the key and any missing
// mappings on the way. value is a bool, an int, an int64 or a string, or a
// *yaml.Node holding a list or a mapping (any style), which is written in
// flow style on one line, replacing whatever path held. Setting a list or
// mapping equal to the one path holds leaves the text as it is.
func (d *Doc) Set(path []string, value any) error {
	if len(path) == 0 {
		return errors.New("set: empty key path")
	}
	if s, ok := value.(string); ok && !utf8.ValidString(s) {
		return fmt.Errorf("set %s: value is not valid UTF-8", schema.FormatPath(path))
	}
	f, err := d.find(path)
	if err != nil {
		return err
	}
	if n, ok := value.(*yaml.Node); ok {
		text, decoded, err := flowValue(n)
		if err != nil {
			return fmt.Errorf("set %s: %w", schema.FormatPath(path), err)
		}
		if f.depth == len(path) && reflect.DeepEqual(getIn(d.tree, path), decoded) {
			return nil
		}
		value = text
	}
	var sp []splice
	if f.depth == len(path) {
		sp, err = d.replace(path, f, value)
	} else {
		sp, err = d.insert(path, f, value)
	}
	if err != nil {
		return err
	}
	want, err := decodeScalar(render(value, false, 0))
	if err != nil {
		return err
	}
	return d.commit(path, sp, func(tree any) any { return setIn(tree, path, want) })
}

// Delete removes the key at path and its value. It reports whether there
// was one; a path that does not exist is not an error.
func (d *Doc) Delete(path []string) (bool, error) {
	if len(path) == 0 {
		return false, errors.New("delete: empty key path")
	}
	f, err := d.find(path)
	if err != nil || f.depth < len(path) {
		return false, err
	}
	sp, err := d.remove(path, f)
	if err != nil {
		return false, err
	}
	nilIfEmpty := f.holder.Style&yaml.FlowStyle == 0 && !f.flow
	return true, d.commit(path, sp, func(tree any) any { return deleteIn(tree, path, nilIfEmpty) })
}

// IsEmpty reports whether path holds nothing: a null, or an empty mapping.
func (d *Doc) IsEmpty(path []string) bool {
	f, err := d.find(path)
	if err != nil || f.depth < len(path) {
		return false
	}
	return isNull(f.node) || f.node.Kind == yaml.MappingNode && len(f.node.Content) == 0
}

// replace builds the splice that replaces the value at path: a scalar,
// or, with a flow collection, a collection of either style.
func (d *Doc) replace(path []string, f found, value any) ([]splice, error) {
	n := f.node
	_, isFlow := value.(flowText)
	switch {
	case n.Kind == yaml.AliasNode:
		return nil, d.errAt(n, path, "is an alias (*%s); edit the file by hand", n.Value)
	case n.Anchor != "":
		return nil, d.errAt(n, path, "is anchored (&%s) and may be used elsewhere; edit the file by hand", n.Anchor)
	case n.Kind != yaml.ScalarNode && !isFlow:
		return nil, d.errAt(n, path, "holds %s, not a single value", describe(n))
	case n.Kind != yaml.ScalarNode && n.Style&yaml.FlowStyle != 0:
		start := d.at(n)
		end, err := d.flowEnd(d.skipProps(start))
		if err != nil {
			return nil, err
		}
		return []splice{{start, end, string(value.(flowText))}}, nil
	case n.Kind != yaml.ScalarNode:
		return d.replaceBlock(path, f, value.(flowText))
	}
	text := render(value, f.flow, n.Style)
	if isEmptyNull(n) {
		return d.fillEmpty(f.key, f.flow, text)
	}
	start := d.at(n)
	end, err := d.scalarEnd(n, start, f.flow, f.key.Column-1)
	if err != nil {
		return nil, err
	}
	return []splice{{start, end, text}}, nil
}

// replaceBlock replaces the block collection at path, which starts on the
// line after its key's, with text: text goes after the key's colon (a
// comment on that line stays) and the collection's lines go, comment lines
// among them included.
func (d *Doc) replaceBlock(path []string, f found, text flowText) ([]splice, error) {
	c, err := d.colonAfter(f.key, false)
	if err != nil {
		return nil, err
	}
	eol := d.lineEnd(c)
	if rest := strings.TrimSpace(string(d.src[c:eol])); rest != "" && rest[0] != '#' {
		return nil, d.errAt(f.key, path, "has %q after its colon; edit the file by hand", rest)
	}
	end, err := d.end(f.node, f.key, false, f.key.Column-1)
	if err != nil {
		return nil, err
	}
	if end < eol {
		return nil, d.layoutErr(f.node, "a block collection on its key's line")
	}
	return []splice{{c, c, " " + string(text)}, {eol, d.lineEnd(end), ""}}, nil
}

// insert builds the splice that adds path[f.depth:] below f.node.
func (d *Doc) insert(path []string, f found, value any) ([]splice, error) {
	rest := path[f.depth:]
	n := f.node
	switch {
	case n == nil: // an empty document: append at the end
		return []splice{d.appendLines(len(d.src), 0, d.block(rest, value, 0, false))}, nil
	case isNull(n) && f.key == nil:
		return nil, d.errAt(n, nil, "the document is %s, not a mapping; replace it with the keys you want", describe(n))
	case isNull(n) && f.flow:
		entry := "{" + d.flowEntry(rest, value) + "}"
		if isEmptyNull(n) {
			return d.fillEmpty(f.key, true, entry)
		}
		start := d.at(n)
		end, err := d.scalarEnd(n, start, true, 0)
		if err != nil {
			return nil, err
		}
		return []splice{{start, end, entry}}, nil
	case isNull(n): // `vm:` or `vm: ~` in a block mapping: add lines below
		c, err := d.colonAfter(f.key, false)
		if err != nil {
			return nil, err
		}
		var sp []splice
		end := c
		if !isEmptyNull(n) {
			start := d.at(n)
			if end, err = d.scalarEnd(n, start, false, f.key.Column-1); err != nil {
				return nil, err
			}
			sp = append(sp, splice{c, end, ""}) // drops ` ~`, keeps a comment
		}
		indent := f.key.Column - 1 + d.step()
		return append(sp, d.appendLines(d.lineEnd(end), indent, d.block(rest, value, indent, false))), nil
	case n.Kind != yaml.MappingNode:
		return nil, d.errAt(n, path[:f.depth], "is %s, not a mapping", describe(n))
	case f.flow || n.Style&yaml.FlowStyle != 0:
		return d.insertFlow(n, d.flowEntry(rest, value))
	}
	// A block mapping: a new line after its last entry and after the
	// comment lines that follow it at its indentation.
	indent := n.Content[0].Column - 1
	lastK, lastV := n.Content[len(n.Content)-2], n.Content[len(n.Content)-1]
	end, err := d.end(lastV, lastK, false, indent)
	if err != nil {
		return nil, err
	}
	pos := d.skipComments(d.lineEnd(end), indent)
	// New nested mappings are written in flow style when every sibling
	// that is a mapping is (web: {state: running}), in block style when not.
	flowChild := false
	for i := 1; i < len(n.Content); i += 2 {
		if v := n.Content[i]; v.Kind == yaml.MappingNode {
			if v.Style&yaml.FlowStyle == 0 {
				flowChild = false
				break
			}
			flowChild = true
		}
	}
	return []splice{d.appendLines(pos, indent, d.block(rest, value, indent, flowChild))}, nil
}

// fillEmpty writes text as the value of key k, which has none (`k:`).
func (d *Doc) fillEmpty(k *yaml.Node, flow bool, text string) ([]splice, error) {
	c, err := d.colonAfter(k, flow)
	if err != nil {
		return nil, err
	}
	if c+1 < len(d.src) && d.src[c] == ' ' && strings.IndexByte(",]}", d.src[c+1]) >= 0 {
		return []splice{{c + 1, c + 1, text}}, nil // `{web: , ...}`: into the gap
	}
	return []splice{{c, c, " " + text}}, nil
}

// insertFlow adds entry to the flow mapping m, after its last entry.
func (d *Doc) insertFlow(m *yaml.Node, entry string) ([]splice, error) {
	open := d.skipProps(d.at(m))
	if open >= len(d.src) || d.src[open] != '{' {
		return nil, d.layoutErr(m, "expected '{'")
	}
	if len(m.Content) == 0 {
		return []splice{{open + 1, open + 1, entry}}, nil
	}
	lastK, lastV := m.Content[len(m.Content)-2], m.Content[len(m.Content)-1]
	end, err := d.end(lastV, lastK, true, 0)
	if err != nil {
		return nil, err
	}
	if j := d.skipSpace(end, true); j < len(d.src) && d.src[j] == ',' {
		return []splice{{j + 1, j + 1, " " + entry}}, nil // a trailing comma
	}
	return []splice{{end, end, ", " + entry}}, nil
}

// remove builds the splice that deletes the pair at path.
func (d *Doc) remove(path []string, f found) ([]splice, error) {
	if f.node.Anchor != "" {
		return nil, d.errAt(f.node, path, "is anchored (&%s) and may be used elsewhere; edit the file by hand", f.node.Anchor)
	}
	h := f.holder
	idx := -1
	for i := 0; i+1 < len(h.Content); i += 2 {
		if h.Content[i] == f.key {
			idx = i
		}
	}
	if f.flow || h.Style&yaml.FlowStyle != 0 {
		switch {
		case len(h.Content) == 2: // the only entry: leave {}
			open := d.skipProps(d.at(h))
			if open >= len(d.src) || d.src[open] != '{' {
				return nil, d.layoutErr(h, "expected '{'")
			}
			end, err := d.flowEnd(open)
			if err != nil {
				return nil, err
			}
			return []splice{{open + 1, end - 1, ""}}, nil
		case idx+2 < len(h.Content): // up to the next key
			return []splice{{d.at(f.key), d.at(h.Content[idx+2]), ""}}, nil
		default: // the last entry: from the end of the one before
			prev, err := d.end(h.Content[idx-1], h.Content[idx-2], true, 0)
			if err != nil {
				return nil, err
			}
			end, err := d.end(f.node, f.key, true, 0)
			if err != nil {
				return nil, err
			}
			return []splice{{prev, end, ""}}, nil
		}
	}
	// A block mapping: the key's lines, up to the end of its value's last
	// line (with its trailing comment).
	start := d.at(f.key)
	ls := d.lineStart(start)
	if strings.TrimLeft(string(d.src[ls:start]), " ") != "" {
		return nil, d.errAt(f.key, path, "shares its line with other YAML; edit the file by hand")
	}
	end, err := d.end(f.node, f.key, false, f.key.Column-1)
	if err != nil {
		return nil, err
	}
	return []splice{{ls, d.lineEnd(end), ""}}, nil
}

// block renders rest as block-style lines at indent, the first line without
// its indentation (the caller places it), each line ending with the
// file's line ending. With flowChild, everything below the first key is
// one flow mapping on that line.
func (d *Doc) block(rest []string, value any, indent int, flowChild bool) string {
	var b strings.Builder
	b.WriteString(renderKey(rest[0], false))
	switch {
	case len(rest) == 1:
		b.WriteString(": " + render(value, false, 0))
	case flowChild:
		b.WriteString(": {" + d.flowEntry(rest[1:], value) + "}")
	default:
		step := d.step()
		b.WriteString(":" + d.eol + strings.Repeat(" ", indent+step))
		b.WriteString(strings.TrimSuffix(d.block(rest[1:], value, indent+step, false), d.eol))
	}
	b.WriteString(d.eol)
	return b.String()
}

// flowEntry renders rest as `a: {b: value}`.
func (d *Doc) flowEntry(rest []string, value any) string {
	if len(rest) == 1 {
		return renderKey(rest[0], true) + ": " + render(value, true, 0)
	}
	return renderKey(rest[0], true) + ": {" + d.flowEntry(rest[1:], value) + "}"
}

// appendLines inserts lines (each ending with the line ending, the first
// not yet indented) at pos, a line start, indenting the first one; at the
// end of a file without a final line ending, one is added first.
func (d *Doc) appendLines(pos, indent int, lines string) splice {
	prefix := ""
	if pos == len(d.src) && len(d.src) > 0 && d.src[len(d.src)-1] != '\n' {
		prefix = d.eol
	}
	return splice{pos, pos, prefix + strings.Repeat(" ", indent) + lines}
}

// step is the indentation step the file uses for nested block mappings,
// from its first nested block mapping; 2 when it has none.
func (d *Doc) step() int {
	var walk func(n *yaml.Node) int
	walk = func(n *yaml.Node) int {
		if n == nil || n.Kind != yaml.MappingNode || n.Style&yaml.FlowStyle != 0 {
			return 0
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if v.Kind == yaml.MappingNode && v.Style&yaml.FlowStyle == 0 && len(v.Content) > 0 {
				if s := v.Content[0].Column - k.Column; s > 0 && v.Content[0].Line > k.Line {
					return s
				}
			}
			if s := walk(v); s > 0 {
				return s
			}
		}
		return 0
	}
	if s := walk(d.root()); s > 0 {
		return s
	}
	return 2
}

// splice replaces src[start:end] with text.
type splice struct {
	start, end int
	text       string
}

// commit applies the splices and checks the result: it must parse, and
// decode to the old value with change applied. Only then does d take it.
func (d *Doc) commit(path []string, sp []splice, change func(any) any) error {
	slices.SortFunc(sp, func(a, b splice) int { return b.start - a.start })
	src := bytes.Clone(d.src)
	for _, s := range sp {
		src = slices.Concat(src[:s.start], []byte(s.text), src[s.end:])
	}
	next := &Doc{}
	if err := next.load(src); err != nil {
		return fmt.Errorf("edit %s: %w: the edited text does not parse (%v); edit the file by hand", schema.FormatPath(path), ErrLayout, err)
	}
	if want := change(deepCopy(d.tree)); !reflect.DeepEqual(want, next.tree) {
		return fmt.Errorf("edit %s: %w: the file's layout was not understood; edit the file by hand", schema.FormatPath(path), ErrLayout)
	}
	*d = *next
	return nil
}

// errAt is an error about the node at path, with its position.
func (d *Doc) errAt(n *yaml.Node, path []string, format string, args ...any) error {
	where := schema.FormatPath(path)
	if where == "" {
		where = "the document"
	}
	return fmt.Errorf("%s (line %d): %s", where, n.Line, fmt.Sprintf(format, args...))
}

func (d *Doc) layoutErr(n *yaml.Node, what string) error {
	return fmt.Errorf("line %d, column %d: %w: %s", n.Line, n.Column, ErrLayout, what)
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// isEmptyNull is a null written as nothing at all (`key:`).
func isEmptyNull(n *yaml.Node) bool {
	return isNull(n) && n.Value == "" && n.Style&(yaml.TaggedStyle|yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) == 0 && n.Anchor == ""
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	if isNull(n) {
		return "null"
	}
	return strconv.Quote(n.Value)
}
