package schema

import (
	"fmt"
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
// empty text means "clear the key" and returns nil. A value the schema
// refuses is an *Error without a position carrying validation's message
// (what was given, what is allowed); so is a path that names a mapping or a
// list, which cannot be given as one value.
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
	name := FormatPath(path)
	switch kind {
	case KindRecord:
		return nil, pathError(path, "is a mapping, not one value; set one of its fields (%s), such as %s.%s=...",
			strings.Join(fieldNames(recordFields(sch)), ", "), name, fieldNames(recordFields(sch))[0])
	case KindMap:
		return nil, pathError(path, "is a mapping of names; set a field of one entry, such as %s.NAME.state=...", name)
	case KindList:
		return nil, pathError(path, "is a list; rdd set does not edit lists: edit the file, or clear it with %s= to use the default", name)
	}
	if !utf8.ValidString(text) {
		return nil, pathError(path, "value is not valid UTF-8")
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
