package schema

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"cuelang.org/go/cue"
)

// Every property of the JSON Schema carries a description, and the default
// of every field that has a concrete one in the CUE, so editors show both.
func TestJSONSchemaDescriptionsAndDefaults(t *testing.T) {
	s := Default()
	raw, err := s.JSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	defs, _ := doc["$defs"].(map[string]any)
	// resolve follows a $ref to its definition.
	resolve := func(n map[string]any) map[string]any {
		if ref, ok := n["$ref"].(string); ok {
			if d, ok := defs[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any); ok {
				return d
			}
		}
		return n
	}
	checked := 0
	var walk func(path string, node map[string]any, sch cue.Value)
	walk = func(path string, node map[string]any, sch cue.Value) {
		node = resolve(node)
		props, _ := node["properties"].(map[string]any)
		for _, f := range recordFields(sch) {
			p := strings.TrimPrefix(path+"."+f.name, ".")
			prop, ok := props[f.name].(map[string]any)
			if !ok {
				t.Errorf("%s: no property in the JSON Schema", p)
				continue
			}
			checked++
			if d, _ := prop["description"].(string); d == "" {
				t.Errorf("%s: no description", p)
			}
			if def, ok := f.value.Default(); ok && def.Validate(cue.Concrete(true)) == nil {
				cueRaw, err := def.MarshalJSON()
				if err != nil {
					t.Fatal(err)
				}
				var want any
				if err := json.Unmarshal(cueRaw, &want); err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(prop["default"], want) {
					t.Errorf("%s: default %v, want %v", p, prop["default"], want)
				}
			}
			if f.value.IncompleteKind()&cue.StructKind != 0 && len(recordFields(f.value)) > 0 {
				walk(p, prop, f.value)
			}
			if elem, ok := listElem(f.value); ok && len(recordFields(elem)) > 0 {
				items, _ := prop["items"].(map[string]any)
				if items == nil {
					for _, alt := range prop["anyOf"].([]any) {
						if it, ok := alt.(map[string]any)["items"].(map[string]any); ok {
							items = it
						}
					}
				}
				walk(p+"[]", items, elem)
			}
		}
	}
	walk("", doc, s.root)
	if checked < 50 {
		t.Fatalf("checked %d properties; the walk missed most of the schema", checked)
	}
	// No property anywhere lacks a description, whatever the walk saw.
	var all func(path string, v any)
	all = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if props, ok := v["properties"].(map[string]any); ok {
				for name, p := range props {
					if pm, ok := p.(map[string]any); ok && pm["description"] == nil && pm["const"] == nil {
						t.Errorf("%s.%s: no description", path, name)
					}
				}
			}
			for k, sub := range v {
				all(path+"/"+k, sub)
			}
		case []any:
			for _, sub := range v {
				all(path, sub)
			}
		}
	}
	all("", doc)
}
