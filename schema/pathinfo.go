package schema

import (
	"strings"

	"cuelang.org/go/cue"
)

// pathInfo is what the walk asks of the schema at one path of a file (a
// field, a map entry, a list item), remembered so that validating the same
// shape again asks CUE nothing: the schema at a path depends on the path
// alone. Facts are computed when first asked. s.mu guards it.
type pathInfo struct {
	sch  cue.Value
	kind cue.Kind // sch.IncompleteKind()
	err  error    // sch.Err()

	fields     []field // recordFields
	needed     []field // requiredFields
	fieldsDone bool
	itemsAttr  string // attr(sch, "items")
	itemsDone  bool
	elem       cue.Value // listElem
	elemOK     bool
	elemDone   bool
}

// maxPaths bounds the paths remembered: file paths include map keys
// (container names), which change over a daemon's life.
const maxPaths = 10_000

// at returns the remembered facts of the schema at segs, computing the
// schema with sch when the path is new. s.mu must be held.
func (s *Schema) at(segs []string, sch func() cue.Value) *pathInfo {
	key := strings.Join(segs, "\x00")
	if p, ok := s.paths[key]; ok {
		return p
	}
	if s.paths == nil || len(s.paths) >= maxPaths {
		s.paths = map[string]*pathInfo{}
	}
	v := sch()
	p := &pathInfo{sch: v, kind: v.IncompleteKind(), err: v.Err()}
	s.paths[key] = p
	return p
}

func (p *pathInfo) recordFields() []field {
	if !p.fieldsDone {
		p.fields = recordFields(p.sch)
		p.needed = requiredFields(p.fields)
		p.fieldsDone = true
	}
	return p.fields
}

func (p *pathInfo) required() []field {
	p.recordFields()
	return p.needed
}

func (p *pathInfo) items() string {
	if !p.itemsDone {
		p.itemsAttr = attr(p.sch, "items")
		p.itemsDone = true
	}
	return p.itemsAttr
}

func (p *pathInfo) listElem() (cue.Value, bool) {
	if !p.elemDone {
		p.elem, p.elemOK = listElem(p.sch)
		p.elemDone = true
	}
	return p.elem, p.elemOK
}
