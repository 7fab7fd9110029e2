package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"cuelang.org/go/cue"

	"cuelang.org/go/cue/format"
	"cuelang.org/go/encoding/jsonschema"
)

// JSONSchema renders #Desired as a JSON Schema (draft 2020-12), so editors
// with a YAML language server can complete and check desired.yaml. It is
// generated from the CUE definitions, never written by hand; CUE's generator
// leaves out defaults, so they are added from the schema afterwards, with
// each field's description taken from its comment.
func (s *Schema) JSONSchema() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	expr, err := jsonschema.Generate(s.root, nil)
	if err != nil {
		return nil, fmt.Errorf("generate JSON Schema: %w", err)
	}
	// The generator returns a CUE expression; CUE syntax for a struct of
	// plain data is a superset of JSON, so compile and export it as JSON.
	src, err := format.Node(expr)
	if err != nil {
		return nil, fmt.Errorf("format JSON Schema: %w", err)
	}
	v := s.ctx.CompileBytes(src)
	raw, err := v.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("export JSON Schema: %w", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("decode JSON Schema: %w", err)
	}
	doc["title"] = "rdd desired state (desired.yaml)"
	defs, _ := doc["$defs"].(map[string]any)
	a := annotator{s: s, defs: defs, done: map[string]bool{}}
	if err := a.annotate(doc, s.root); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("encode JSON Schema: %w", err)
	}
	return buf.Bytes(), nil
}

// annotator adds to a generated JSON Schema what CUE's generator leaves
// out: the default of every field that has a concrete one, a description on
// every property (the generator sets it only where a comment survives
// evaluation), and no "required" for a field whose default depends on
// another field (hostPort: *guestPort).
type annotator struct {
	s    *Schema
	defs map[string]any
	done map[string]bool // $defs entries already annotated
}

func (a *annotator) annotate(node map[string]any, sch cue.Value) error {
	if ref, ok := node["$ref"].(string); ok {
		name, ok := strings.CutPrefix(ref, "#/$defs/")
		def, _ := a.defs[name].(map[string]any)
		if ok && def != nil && !a.done[name] {
			a.done[name] = true
			if err := a.annotate(def, sch); err != nil {
				return err
			}
		}
	}
	for _, key := range []string{"anyOf", "allOf", "oneOf"} {
		subs, _ := node[key].([]any)
		for _, sub := range subs {
			if m, ok := sub.(map[string]any); ok {
				if err := a.annotate(m, sch); err != nil {
					return err
				}
			}
		}
	}
	if props, ok := node["properties"].(map[string]any); ok {
		var required []any
		for _, f := range recordFields(sch) {
			prop, ok := props[f.name].(map[string]any)
			if !ok {
				continue
			}
			if desc := description(f.value, f.name); desc != "" {
				prop["description"] = desc
			}
			def, err := defaultJSON(f.value)
			if err != nil {
				return fmt.Errorf("default of %s: %w", f.name, err)
			}
			if def != nil {
				prop["default"] = def
			}
			if !f.optional && def == nil && !markedDefault(f.value) && f.value.IncompleteKind()&cue.StructKind == 0 {
				required = append(required, f.name)
			}
			if err := a.annotate(prop, f.value); err != nil {
				return err
			}
		}
		if _, had := node["required"]; had || len(required) > 0 {
			if len(required) == 0 {
				delete(node, "required")
			} else {
				node["required"] = required
			}
		}
	}
	if pats, ok := node["patternProperties"].(map[string]any); ok {
		for _, p := range pats {
			if m, ok := p.(map[string]any); ok {
				if err := a.annotate(m, a.s.mapEntry(sch)); err != nil {
					return err
				}
			}
		}
	}
	if items, ok := node["items"].(map[string]any); ok {
		if elem, ok := listElem(sch); ok {
			if err := a.annotate(items, elem); err != nil {
				return err
			}
		}
	}
	return nil
}

// description is a field's comment without its leading "name: ", on one
// line.
func description(v cue.Value, name string) string {
	var parts []string
	for _, cg := range v.Doc() {
		parts = append(parts, cg.Text())
	}
	text := strings.Join(strings.Fields(strings.Join(parts, " ")), " ")
	return strings.TrimPrefix(text, name+": ")
}

// defaultJSON returns the field's default as a JSON value, or nil when it
// has none that is concrete.
func defaultJSON(v cue.Value) (any, error) {
	d, ok := v.Default()
	if !ok {
		if v.IncompleteKind()&cue.StructKind != 0 || !v.IsConcrete() {
			return nil, nil
		}
		d = v
	}
	if d.Validate(cue.Concrete(true)) != nil {
		return nil, nil
	}
	raw, err := d.MarshalJSON()
	if err != nil {
		return nil, err
	}
	var out any
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, err
	}
	return out, nil
}
