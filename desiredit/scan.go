package desiredit

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// The parser gives each node the line and column where it starts; these
// helpers find where things end, by scanning the text the way the YAML
// scanner does for the few forms a desired file uses. Whatever they get
// wrong, commit catches.

// at is the byte offset of node n's first character (its anchor or tag,
// if it has one). Columns count characters, not bytes.
func (d *Doc) at(n *yaml.Node) int {
	if n.Line < 1 || n.Line > len(d.lines) {
		return len(d.src)
	}
	i := d.lines[n.Line-1]
	for c := 1; c < n.Column && i < len(d.src) && d.src[i] != '\n'; c++ {
		_, size := utf8.DecodeRune(d.src[i:])
		i += size
	}
	return i
}

// lineStart is the offset of the start of the line holding off.
func (d *Doc) lineStart(off int) int {
	for off > 0 && d.src[off-1] != '\n' {
		off--
	}
	return off
}

// lineEnd is the offset just past the line ending of the line holding off
// (the start of the next line), or the end of the text.
func (d *Doc) lineEnd(off int) int {
	for off < len(d.src) {
		if d.src[off] == '\n' {
			return off + 1
		}
		off++
	}
	return off
}

// skipSpace skips blanks and, with lines, line endings and comments.
func (d *Doc) skipSpace(off int, lines bool) int {
	for off < len(d.src) {
		switch c := d.src[off]; {
		case c == ' ' || c == '\t':
			off++
		case lines && (c == '\n' || c == '\r'):
			off++
		case lines && c == '#':
			for off < len(d.src) && d.src[off] != '\n' {
				off++
			}
		default:
			return off
		}
	}
	return off
}

// skipComments skips, from the line start pos, the comment lines indented
// at least indent, stopping at a blank line: comments under the last entry
// of a mapping stay with it when a key is added after it.
func (d *Doc) skipComments(pos, indent int) int {
	for pos < len(d.src) {
		i := pos
		for i < len(d.src) && d.src[i] == ' ' {
			i++
		}
		if i == len(d.src) || d.src[i] != '#' || i-pos < indent {
			return pos
		}
		pos = d.lineEnd(i)
	}
	return pos
}

// skipProps skips a node's anchor and tag, if any.
func (d *Doc) skipProps(off int) int {
	for off < len(d.src) && (d.src[off] == '&' || d.src[off] == '!') {
		for off < len(d.src) && !isBlank(d.src[off]) {
			off++
		}
		off = d.skipSpace(off, true)
	}
	return off
}

// colonAfter is the offset just past the ':' that follows key k.
func (d *Doc) colonAfter(k *yaml.Node, flow bool) (int, error) {
	end, err := d.keyEnd(k, flow)
	if err != nil {
		return 0, err
	}
	i := d.skipSpace(end, false)
	if i >= len(d.src) || d.src[i] != ':' {
		return 0, d.layoutErr(k, "no ':' after the key")
	}
	return i + 1, nil
}

// keyEnd is the offset just past key k's text.
func (d *Doc) keyEnd(k *yaml.Node, flow bool) (int, error) {
	start := d.at(k)
	switch k.Style &^ yaml.TaggedStyle {
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		return d.quotedEnd(k, start)
	}
	i, last := start, start
	for i < len(d.src) {
		c := d.src[i]
		if c == '\n' || c == '\r' || c == ':' && (i+1 == len(d.src) || isBlank(d.src[i+1]) || flow && isFlowIndicator(d.src[i+1])) {
			break
		}
		if flow && isFlowIndicator(c) {
			break
		}
		i++
		if c != ' ' && c != '\t' {
			last = i
		}
	}
	return last, nil
}

// end is the offset just past node n, the value of key k (nil for a list
// item) in a mapping indented by indent.
func (d *Doc) end(n, k *yaml.Node, flow bool, indent int) (int, error) {
	switch n.Kind {
	case yaml.ScalarNode:
		if isEmptyNull(n) {
			if k == nil {
				return 0, d.layoutErr(n, "an empty list item")
			}
			return d.colonAfter(k, flow)
		}
		return d.scalarEnd(n, d.at(n), flow, indent)
	case yaml.AliasNode:
		i := d.at(n) + 1
		for i < len(d.src) && !isBlank(d.src[i]) && !(flow && isFlowIndicator(d.src[i])) {
			i++
		}
		return i, nil
	case yaml.MappingNode, yaml.SequenceNode:
		if n.Style&yaml.FlowStyle != 0 {
			return d.flowEnd(d.skipProps(d.at(n)))
		}
		if len(n.Content) == 0 {
			return 0, d.layoutErr(n, "an empty block collection")
		}
		if n.Kind == yaml.SequenceNode {
			return d.end(n.Content[len(n.Content)-1], nil, false, n.Column-1)
		}
		lastK, lastV := n.Content[len(n.Content)-2], n.Content[len(n.Content)-1]
		return d.end(lastV, lastK, false, lastK.Column-1)
	}
	return 0, d.layoutErr(n, "an unexpected node")
}

// scalarEnd is the offset just past scalar n, whose text (with its anchor
// or tag) starts at start. In block context, indent is the indentation of
// the mapping holding it: continuation lines are indented further.
func (d *Doc) scalarEnd(n *yaml.Node, start int, flow bool, indent int) (int, error) {
	i := d.skipProps(start)
	if i >= len(d.src) {
		return i, nil
	}
	switch n.Style &^ yaml.TaggedStyle {
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		return d.quotedEnd(n, i)
	case yaml.LiteralStyle, yaml.FoldedStyle:
		if c := d.src[i]; c != '|' && c != '>' {
			return 0, d.layoutErr(n, "expected a block scalar")
		}
		return d.blockScalarEnd(i, indent), nil
	}
	if flow {
		return d.flowPlainEnd(i), nil
	}
	return d.blockPlainEnd(i, indent), nil
}

// quotedEnd is the offset just past the quoted scalar starting at i.
func (d *Doc) quotedEnd(n *yaml.Node, i int) (int, error) {
	if i >= len(d.src) || d.src[i] != '"' && d.src[i] != '\'' {
		return 0, d.layoutErr(n, "expected a quote")
	}
	q := d.src[i]
	for j := i + 1; j < len(d.src); j++ {
		switch {
		case q == '"' && d.src[j] == '\\':
			j++
		case q == '\'' && d.src[j] == '\'' && j+1 < len(d.src) && d.src[j+1] == '\'':
			j++
		case d.src[j] == q:
			return j + 1, nil
		}
	}
	return 0, d.layoutErr(n, "unterminated quote")
}

// blockPlainEnd: a plain scalar in block context ends before a comment or
// at the end of its line, unless the next lines, indented further than its
// mapping, continue it.
func (d *Doc) blockPlainEnd(i, indent int) int {
	e := d.plainLineEnd(i)
	for j := d.lineEnd(e); j < len(d.src); j = d.lineEnd(j) {
		k := j
		for k < len(d.src) && d.src[k] == ' ' {
			k++
		}
		switch {
		case k == len(d.src) || d.src[k] == '\n' || d.src[k] == '\r':
			continue // a blank line inside or after the scalar
		case k-j <= indent || d.src[k] == '#':
			return e
		}
		e = d.plainLineEnd(k)
		j = e
	}
	return e
}

// plainLineEnd is the end of the plain text on the line from i: before a
// comment (a '#' after a blank) and trailing blanks.
func (d *Doc) plainLineEnd(i int) int {
	e := i
	for j := i; j < len(d.src); j++ {
		c := d.src[j]
		if c == '\n' || c == '\r' || c == '#' && j > i && isBlank(d.src[j-1]) {
			break
		}
		if !isBlank(c) {
			e = j + 1
		}
	}
	return e
}

// flowPlainEnd: a plain scalar in a flow collection ends at a flow
// indicator, a ':' before a blank, or a comment; it may go on over lines.
func (d *Doc) flowPlainEnd(i int) int {
	e := i
	for j := i; j < len(d.src); j++ {
		c := d.src[j]
		switch {
		case isFlowIndicator(c):
			return e
		case c == '#' && j > i && isBlank(d.src[j-1]):
			return e
		case c == ':' && (j+1 == len(d.src) || isBlank(d.src[j+1]) || isFlowIndicator(d.src[j+1])):
			return e
		case !isBlank(c):
			e = j + 1
		}
	}
	return e
}

// blockScalarEnd: a literal or folded scalar is its header line and the
// lines after it indented further than its mapping (blank lines between
// them included, trailing ones not).
func (d *Doc) blockScalarEnd(i, indent int) int {
	e := i
	for e < len(d.src) && !isBlank(d.src[e]) {
		e++ // | or > and its indicators
	}
	for j := d.lineEnd(i); j < len(d.src); j = d.lineEnd(j) {
		k := j
		for k < len(d.src) && d.src[k] == ' ' {
			k++
		}
		if k == len(d.src) || d.src[k] == '\n' || d.src[k] == '\r' {
			continue
		}
		if k-j <= indent {
			break
		}
		e = d.lineEnd(k)
		for e > k && (d.src[e-1] == '\n' || d.src[e-1] == '\r') {
			e--
		}
	}
	return e
}

// flowEnd is the offset just past the flow collection opening at open,
// skipping quoted scalars and comments.
func (d *Doc) flowEnd(open int) (int, error) {
	depth := 0
	prev := byte('{') // the last character that was not blank
	for j := open; j < len(d.src); j++ {
		c := d.src[j]
		switch {
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			depth--
			if depth == 0 {
				return j + 1, nil
			}
		case (c == '"' || c == '\'') && strings.IndexByte("{[,:?", prev) >= 0:
			q := c
			for j++; j < len(d.src) && d.src[j] != q; j++ {
				if q == '"' && d.src[j] == '\\' {
					j++
				} else if q == '\'' && d.src[j] == '\'' && j+1 < len(d.src) && d.src[j+1] == '\'' {
					j++
				}
			}
		case c == '#' && j > open && isBlank(d.src[j-1]):
			for j < len(d.src) && d.src[j] != '\n' {
				j++
			}
			continue
		}
		if !isBlank(c) {
			prev = c
		}
	}
	return 0, fmt.Errorf("%w: unterminated flow collection at byte %d", ErrLayout, open)
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isFlowIndicator(c byte) bool { return c == ',' || c == '[' || c == ']' || c == '{' || c == '}' }
