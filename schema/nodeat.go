package schema

import (
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// nodeAt returns the YAML node at a field path of the document ("vm",
// "caCerts", "[2]"), looking through aliases, or nil. Checks that run after
// the schema (over the decoded value) use it to point at the entry they
// refuse.
func nodeAt(doc *yaml.Node, segs ...string) *yaml.Node {
	if doc == nil || doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil
	}
	n := doc.Content[0]
	for _, seg := range segs {
		for n.Kind == yaml.AliasNode {
			n = n.Alias
		}
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
		if next == nil {
			return nil
		}
		n = next
	}
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// errorAt is a positioned error at the node at segs, or at the start of the
// document when the node cannot be found.
func errorAt(file string, doc *yaml.Node, segs []string, msg string) *Error {
	line, col := 1, 1
	if n := nodeAt(doc, segs...); n != nil {
		line, col = max(n.Line, 1), max(n.Column, 1)
	}
	return &Error{File: file, Line: line, Column: col, Path: FormatPath(segs), Msg: msg}
}
