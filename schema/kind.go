package schema

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"cuelang.org/go/cue"
	"go.yaml.in/yaml/v3"
)

// Kind is what the schema allows at a key path, as `rdd set` needs to know
// it to read a value given on the command line.
type Kind int

// The kinds of value a key path can hold.
const (
	KindBool   Kind = iota + 1 // true or false
	KindInt                    // a whole number
	KindString                 // a string, possibly an enum or a size
	KindRecord                 // a mapping with named fields (vm)
	KindMap                    // a mapping from names to entries (containers)
	KindList                   // a list (vm.mounts)
)

func (k Kind) String() string {
	switch k {
	case KindBool:
		return "bool"
	case KindInt:
		return "int"
	case KindString:
		return "string"
	case KindRecord:
		return "record"
	case KindMap:
		return "map"
	case KindList:
		return "list"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Kind returns what may stand at path (an empty path is the whole file, a
// record). A path the schema does not allow is an *Error without a position,
// worded as validation words it: an unknown field with a did-you-mean and
// the allowed fields, or a map key of the wrong form.
func (s *Schema) Kind(path []string) (Kind, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, k, err := s.lookup(path)
	return k, err
}

// ParseValue reads text, a value as given on a command line, as the type
// the schema allows at path, and checks it: "4" is the number 4 at
// vm.cpus, "true" the boolean at running, "8GiB" a string at vm.memory. An
// empty text means "clear the key" and returns nil.
//
// At a list or a mapping, text is a YAML flow collection on one line or
// more ([a, b], {TZ: UTC}, [{location: ~/src}]), read as the file reads
// it: inside it YAML's own rules type each scalar, so {location: 1} is a
// number where a path is expected and is refused, as it would be in the
// file. It returns a *yaml.Node in flow style, in the order given, each
// scalar tagged with the type it was read as, and without the entries that
// mean "not set" (a field written as null); see flowValue.
//
// A value the schema refuses is an *Error without a position carrying
// validation's message (what was given, what is allowed), named by the key
// path and, inside a flow value, by the element (vm.mounts[0].location); a
// flow value with several problems gives an Errors of them all.
func (s *Schema) ParseValue(path []string, text string) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sch, kind, err := s.lookup(path)
	if err != nil {
		return nil, err
	}
	if text == "" {
		return nil, nil
	}
	if !utf8.ValidString(text) {
		return nil, pathError(path, "value is not valid UTF-8")
	}
	switch kind {
	case KindRecord, KindMap, KindList:
		return s.flowValue(path, sch, kind, text)
	}
	var val any = text // a string unless it reads as the kind allowed
	switch kind {
	case KindBool:
		if b, err := strconv.ParseBool(text); err == nil && (text == "true" || text == "false") {
			val = b
		}
	case KindInt:
		if i, err := strconv.ParseInt(text, 10, 64); err == nil {
			val = i
		}
	}
	var n yaml.Node
	if err := n.Encode(val); err != nil {
		return nil, pathError(path, "cannot encode %q: %v", text, err)
	}
	w := &walker{s: s, budget: maxNodes}
	w.scalar(&n, path, sch)
	if len(w.errs) > 0 {
		e := w.errs[0]
		e.Line, e.Column = 0, 0
		return nil, e
	}
	return val, nil
}

// lookup walks path through the schema the way the validating walk does.
// s.mu must be held.
func (s *Schema) lookup(path []string) (cue.Value, Kind, error) {
	w := &walker{s: s, budget: maxNodes}
	sch := s.root
	for i, seg := range path {
		if sch.IncompleteKind()&cue.StructKind == 0 {
			return sch, 0, pathError(path[:i], "is %s, not a mapping; it has no key %s", describeAllowed(sch), quote(seg))
		}
		fields := recordFields(sch)
		child := w.child(sch, fields, seg)
		if child.Err() != nil || child.IncompleteKind() == cue.BottomKind {
			w.notAllowed(&yaml.Node{}, path[:i], seg, fieldNames(fields), sch)
			e := w.errs[0]
			e.Line, e.Column = 0, 0
			return sch, 0, e
		}
		sch = child
	}
	k := sch.IncompleteKind()
	switch {
	case k&cue.StructKind != 0:
		if len(recordFields(sch)) > 0 {
			return sch, KindRecord, nil
		}
		return sch, KindMap, nil
	case k&cue.ListKind != 0:
		return sch, KindList, nil
	case k&cue.StringKind != 0:
		return sch, KindString, nil
	case k&cue.IntKind != 0:
		return sch, KindInt, nil
	case k&cue.BoolKind != 0:
		return sch, KindBool, nil
	}
	return sch, 0, pathError(path, "holds %s, which rdd set cannot write", kindName(k))
}

// pathError is a problem with a key path rather than with a place in a file.
func pathError(path []string, format string, args ...any) *Error {
	return &Error{Path: FormatPath(path), Msg: fmt.Sprintf(format, args...)}
}

// flowValue reads text as the YAML flow collection given for the list or
// mapping at path, and checks it with the walk that checks files, so each
// problem is named by the element it is in. s.mu must be held.
func (s *Schema) flowValue(path []string, sch cue.Value, kind Kind, text string) (any, error) {
	t := strings.TrimSpace(text)
	if t == "" || t[0] != '[' && t[0] != '{' {
		return nil, pathError(path, "%s", s.collectionUsage(path, sch, kind))
	}
	dec := yaml.NewDecoder(strings.NewReader(t))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		return nil, pathError(path, "%s is not valid YAML flow syntax: %s (check the brackets, commas and quotes; quote the whole KEY=VALUE for the shell)",
			quote(text), yamlMessage(err))
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, pathError(path, "%s is not valid YAML flow syntax: %s", quote(text), yamlMessage(err))
	default:
		return nil, pathError(path, "%s holds more than one YAML document; give one list [...] or mapping {...}", quote(text))
	}
	root := doc.Content[0]
	if root.Kind != yaml.SequenceNode && root.Kind != yaml.MappingNode || root.Style&yaml.FlowStyle == 0 {
		// `{a: 1}: b` starts like one, but is a block mapping with a flow key.
		return nil, pathError(path, "%s is not one YAML flow collection; give one list [...] or mapping {...}", quote(text))
	}
	if a := anchorIn(root); a != "" {
		return nil, pathError(path, "%s in the value: anchors and aliases are not supported here; write the value out", a)
	}
	w := &walker{s: s, budget: maxNodes}
	val := w.node(root, path, sch)
	if len(w.errs) > 0 {
		for _, e := range w.errs {
			e.File, e.Line, e.Column = "", 0, 0
		}
		if len(w.errs) == 1 {
			return nil, w.errs[0]
		}
		return nil, w.errs
	}
	return flowNode(root, val), nil
}

// collectionUsage says how to give the list or mapping at path a value
// when the text given is not a flow collection.
func (s *Schema) collectionUsage(path []string, sch cue.Value, kind Kind) string {
	name := FormatPath(path)
	switch kind {
	case KindRecord:
		fields := fieldNames(recordFields(sch))
		return fmt.Sprintf("is a mapping, not one value; set one of its fields (%s), such as %s.%s=..., or give the whole mapping in YAML flow syntax: %s='%s'",
			strings.Join(fields, ", "), name, fields[0], name, s.example(sch, 0))
	case KindMap:
		entry := name + ".NAME"
		if elem, ok := s.mapElem(sch); ok {
			if fields := recordFields(elem); len(fields) > 0 {
				entry += "." + fields[0].name
			}
		}
		return fmt.Sprintf("is a mapping of names; set one entry, such as %s=..., or give the whole mapping in YAML flow syntax: %s='%s'",
			entry, name, s.example(sch, 0))
	}
	return fmt.Sprintf("is a list; give it in YAML flow syntax, such as %s='%s', or clear it with %s= to use the default",
		name, s.example(sch, 0), name)
}

// example sketches a flow value for sch from its structure: the first
// field of a record, NAME for a map key, one element of a list.
func (s *Schema) example(sch cue.Value, depth int) string {
	if depth > 4 {
		return "..."
	}
	k := sch.IncompleteKind()
	switch {
	case k&cue.StructKind != 0:
		if fields := recordFields(sch); len(fields) > 0 {
			return "{" + fields[0].name + ": " + s.example(fields[0].value, depth+1) + "}"
		}
		if elem, ok := s.mapElem(sch); ok {
			return "{NAME: " + s.example(elem, depth+1) + "}"
		}
		return "{...}"
	case k&cue.ListKind != 0:
		if elem, ok := listElem(sch); ok {
			return "[" + s.example(elem, depth+1) + "]"
		}
		return "[...]"
	}
	return "..."
}

// mapElem is the schema of an entry of the map sch, asked for at a key
// that every key pattern of the schema accepts.
func (s *Schema) mapElem(sch cue.Value) (cue.Value, bool) {
	w := &walker{s: s, budget: maxNodes}
	elem := w.child(sch, nil, "name")
	return elem, elem.Err() == nil && elem.IncompleteKind() != cue.BottomKind
}

// yamlMessage is the YAML parser's message without its "yaml: line N:"
// prefix: the parser names the line where a collection began, not where
// it went wrong, which misleads more than it helps in a value.
func yamlMessage(err error) string {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		return m[2]
	}
	return strings.TrimPrefix(msg, "yaml: ")
}

// anchorIn returns the first anchor (&a) or alias (*a) in n, or "". A
// value is written out where it is set; an anchor in it could be aliased
// from elsewhere in the file, which the edit cannot see.
func anchorIn(n *yaml.Node) string {
	switch {
	case n.Kind == yaml.AliasNode:
		return "*" + n.Value
	case n.Anchor != "":
		return "&" + n.Anchor
	}
	for _, c := range n.Content {
		if a := anchorIn(c); a != "" {
			return a
		}
	}
	return ""
}

// flowNode builds the value `rdd set` writes from n, the collection given,
// and val, what the walk read it as: flow style, n's order, every scalar
// tagged with its type, fields written as null (not set) left out, and a
// map entry written as null (declared with its defaults) an empty mapping.
func flowNode(n *yaml.Node, val any) *yaml.Node {
	switch v := val.(type) {
	case map[string]any:
		out := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Style: yaml.FlowStyle}
		if n.Kind != yaml.MappingNode {
			return out
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, c := n.Content[i], n.Content[i+1]
			cv, ok := v[k.Value]
			if !ok {
				continue
			}
			out.Content = append(out.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k.Value}, flowNode(c, cv))
		}
		return out
	case []any:
		out := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle}
		for i, item := range v {
			out.Content = append(out.Content, flowNode(n.Content[i], item))
		}
		return out
	}
	var out yaml.Node
	if err := out.Encode(val); err != nil {
		// val is a bool, an int64, a float64 or a string, as the walk reads
		// scalars: they all encode.
		panic(fmt.Sprintf("schema: encode %T: %v", val, err))
	}
	return &out
}
