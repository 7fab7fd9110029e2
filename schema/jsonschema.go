package schema

import (
	"bytes"
	"encoding/json"
	"fmt"

	"cuelang.org/go/cue/format"
	"cuelang.org/go/encoding/jsonschema"
)

// JSONSchema renders #Desired as a JSON Schema (draft 2020-12), so editors
// with a YAML language server can complete and check desired.yaml. It is
// generated from the CUE definitions, never written by hand.
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
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("encode JSON Schema: %w", err)
	}
	return buf.Bytes(), nil
}
