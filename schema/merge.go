package schema

import (
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Layer is one file of a desired state made of several: desired.yaml, then
// each fragment of desired.d/ in the order they apply.
type Layer struct {
	File string // the name errors and origins give it
	Data []byte
}

// Merged is the YAML tree of a desired state made of layers, each later
// layer applied over the ones before it: mappings merge key by key, a later
// scalar or list replaces an earlier one, and a null removes the key so its
// default applies. Every node keeps its own line and column, and the tree
// knows which file each one came from, so an error in the merged result
// and `rdd get --origin` name the file that supplied the value.
//
// A Merged of one layer is that file's tree.
type Merged struct {
	doc *yaml.Node // a DocumentNode; no Content when every layer is empty
	// file is the file of nodes that have no entry in origin.
	file string
	// origin names the file of a node where it differs from the file of
	// the node above it (see walker.node, which scopes it the same way).
	origin map[*yaml.Node]string
}

// Origin is where a value of the desired state came from.
type Origin struct {
	File   string
	Line   int
	Column int
}

// Origin returns where the value at the field path segs was set, or false
// when no layer sets it (its default applies). A list is one value: it is
// replaced whole, so its items come from where the list is; the path of
// an item ("[2]") gives that item's own position.
func (m *Merged) Origin(segs []string) (Origin, bool) {
	n, file := m.locate(segs)
	if n == nil {
		return Origin{}, false
	}
	return Origin{File: file, Line: max(n.Line, 1), Column: max(n.Column, 1)}, true
}

// locate returns the node at segs (looking through aliases) and the file it
// came from, or nil.
func (m *Merged) locate(segs []string) (*yaml.Node, string) {
	doc := m.doc
	if doc == nil || doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, ""
	}
	file := m.file
	n := m.enter(doc.Content[0], &file)
	for _, seg := range segs {
		var next *yaml.Node
		switch {
		case n.Kind == yaml.SequenceNode && strings.HasPrefix(seg, "["):
			i, err := strconv.Atoi(strings.Trim(seg, "[]"))
			if err == nil && i >= 0 && i < len(n.Content) {
				next = n.Content[i]
			}
		case n.Kind == yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == seg {
					next = n.Content[i+1]
					break
				}
			}
		}
		if next == nil || next.Kind == yaml.ScalarNode && next.Tag == "!!null" {
			return nil, ""
		}
		n = m.enter(next, &file)
	}
	return n, file
}

// enter follows n's aliases, noting the file of each node on the way.
func (m *Merged) enter(n *yaml.Node, file *string) *yaml.Node {
	for {
		if f, ok := m.origin[n]; ok {
			*file = f
		}
		if n.Kind != yaml.AliasNode {
			return n
		}
		n = n.Alias
	}
}

// errorAt is a positioned error at the node at segs, in the file that
// supplied it, or at the start of the first file when it cannot be found.
func (m *Merged) errorAt(segs []string, msg string) *Error {
	file, line, col := m.file, 1, 1
	if n, f := m.locate(segs); n != nil {
		file, line, col = f, max(n.Line, 1), max(n.Column, 1)
	}
	return &Error{File: file, Line: line, Column: col, Path: FormatPath(segs), Msg: msg}
}

// merge applies the documents in order, each named by its file. The trees
// given are not changed: a mapping that two layers set is a new node, and
// every other node is shared.
func merge(files []string, docs []*yaml.Node) *Merged {
	m := &Merged{doc: &yaml.Node{Kind: yaml.DocumentNode}, origin: map[*yaml.Node]string{}}
	if len(files) > 0 {
		m.file = files[0]
	}
	var root *yaml.Node
	for i, doc := range docs {
		if doc == nil || doc.Kind == 0 || len(doc.Content) == 0 || isNull(doc.Content[0]) {
			continue // empty, or only comments: changes nothing
		}
		over := doc.Content[0]
		if root == nil {
			m.doc.Line, m.doc.Column = doc.Line, doc.Column
		}
		root = m.over(root, m.origin[root], over, files[i])
	}
	if root != nil {
		m.doc.Content = []*yaml.Node{root}
	}
	return m
}

// over returns over, from file, applied over base (nil: nothing yet), from
// baseFile, with the origins recorded in m.
func (m *Merged) over(base *yaml.Node, baseFile string, over *yaml.Node, file string) *yaml.Node {
	b, o := deref(base), deref(over)
	if b == nil || b.Kind != yaml.MappingNode || o.Kind != yaml.MappingNode {
		m.origin[over] = file
		return over
	}
	// Both mappings: a new mapping at over's position, base's keys in
	// base's order (updated, or removed by a null), then over's new keys.
	out := &yaml.Node{Kind: yaml.MappingNode, Tag: o.Tag, Style: o.Style, Line: o.Line, Column: o.Column}
	m.origin[out] = file
	overAt := map[string]int{}
	for i := 0; i+1 < len(o.Content); i += 2 {
		overAt[o.Content[i].Value] = i
	}
	done := map[string]bool{}
	for i := 0; i+1 < len(b.Content); i += 2 {
		k, v := b.Content[i], b.Content[i+1]
		j, ok := overAt[k.Value]
		if !ok {
			m.keep(k, v, baseFile)
			out.Content = append(out.Content, k, v)
			continue
		}
		done[k.Value] = true
		ok2, ov := o.Content[j], o.Content[j+1]
		if isNull(ov) {
			continue // removed: the default applies
		}
		vFile := baseFile
		if f, ok := m.origin[v]; ok {
			vFile = f
		}
		m.origin[ok2] = file
		out.Content = append(out.Content, ok2, m.over(v, vFile, ov, file))
	}
	for i := 0; i+1 < len(o.Content); i += 2 {
		k, v := o.Content[i], o.Content[i+1]
		if done[k.Value] || isNull(v) {
			continue
		}
		done[k.Value] = true
		m.origin[k], m.origin[v] = file, file
		out.Content = append(out.Content, k, v)
	}
	return out
}

// keep moves a pair of base into a new mapping: the file it came from was
// that of its old parent, which the new parent may not share.
func (m *Merged) keep(k, v *yaml.Node, file string) {
	for _, n := range []*yaml.Node{k, v} {
		if _, ok := m.origin[n]; !ok {
			m.origin[n] = file
		}
	}
}

func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	n = deref(n)
	return n == nil || n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}
