package double

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// edit: limactl edit NAME --set EXPR. The double understands the part of
// yq that rdd uses: terms joined by "|", each `.a.b = LITERAL` (LITERAL a
// JSON value, which is also a yq literal) or `del(.a.b)`.
func (h *home) edit(rest []string) error {
	f, err := parseFlags(rest, []string{"set", "cpus", "memory", "disk"}, nil)
	if err != nil {
		return err
	}
	name, err := oneName(f, "default")
	if err != nil {
		return err
	}
	if !h.exists(name) {
		return fmt.Errorf("instance %q not found", name)
	}
	// cmd/limactl/edit.go: only a Running instance is refused; Broken
	// and Stopped can be edited.
	if h.inspect(name).status == "Running" {
		return errors.New("cannot edit a running instance")
	}
	old, oldBytes, err := h.loadConfig(name)
	if err != nil {
		return err
	}
	expr := f.values["set"]
	if expr == "" {
		info("Aborting, as requested by saving the file with empty content")
		return nil
	}
	doc, err := parseConfig(oldBytes)
	if err != nil {
		return err
	}
	if err := applyExpr(doc.raw, expr); err != nil {
		return fmt.Errorf("failed to apply yq expression %q: %w", expr, err)
	}
	if reflect.DeepEqual(doc.raw, old.raw) {
		info("Aborting, no changes made to the instance")
		return nil
	}
	rejected := func(err error) error {
		return fmt.Errorf("the YAML is invalid, saved the buffer as %q: %w", "lima.REJECTED.yaml", err)
	}
	if err := doc.validate(); err != nil {
		return rejected(err)
	}
	oldDisk, _ := parseBytes(old.str("disk", "100GiB"))
	newDisk, _ := parseBytes(doc.str("disk", "100GiB"))
	if newDisk < oldDisk {
		return rejected(fmt.Errorf("field `disk`: shrinking the disk (%v --> %v) is not supported", old.str("disk", "100GiB"), doc.str("disk", "100GiB")))
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc.raw); err != nil {
		return err
	}
	if err := writeAtomic(filepath.Join(h.instDir(name), limaYAML), buf.Bytes()); err != nil {
		return err
	}
	info("Instance %q configuration edited", name)
	return nil
}

var (
	pathRE = regexp.MustCompile(`^\.[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*`)
	delRE  = regexp.MustCompile(`^del\((\.[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\)`)
)

// applyExpr applies the supported yq subset to doc.
func applyExpr(doc map[string]any, expr string) error {
	s := strings.TrimSpace(expr)
	for s != "" {
		if m := delRE.FindStringSubmatch(s); m != nil {
			del(doc, splitPath(m[1]))
			s = s[len(m[0]):]
		} else if p := pathRE.FindString(s); p != "" {
			s = strings.TrimSpace(s[len(p):])
			if !strings.HasPrefix(s, "=") || strings.HasPrefix(s, "==") {
				return fmt.Errorf("the double supports only `.path = LITERAL` and `del(.path)`, at %q", s)
			}
			s = strings.TrimSpace(s[1:])
			dec := json.NewDecoder(strings.NewReader(s))
			var v any
			if err := dec.Decode(&v); err != nil {
				return fmt.Errorf("the double reads literals as JSON: %w, at %q", err, s)
			}
			set(doc, splitPath(p), fromJSON(v))
			s = s[dec.InputOffset():]
		} else {
			return fmt.Errorf("the double supports only `.path = LITERAL` and `del(.path)`, at %q", s)
		}
		s = strings.TrimSpace(s)
		if s == "" {
			break
		}
		if !strings.HasPrefix(s, "|") {
			return fmt.Errorf("expected | at %q", s)
		}
		s = strings.TrimSpace(s[1:])
	}
	return nil
}

func splitPath(p string) []string { return strings.Split(strings.TrimPrefix(p, "."), ".") }

func set(doc map[string]any, path []string, v any) {
	m := doc
	for _, k := range path[:len(path)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[path[len(path)-1]] = v
}

func del(doc map[string]any, path []string) {
	m := doc
	for _, k := range path[:len(path)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			return
		}
		m = next
	}
	delete(m, path[len(path)-1])
}

// fromJSON turns JSON numbers that are whole into ints, as a YAML decode
// of the same literal would.
func fromJSON(v any) any {
	switch x := v.(type) {
	case float64:
		if x == float64(int(x)) {
			return int(x)
		}
		return x
	case []any:
		for i := range x {
			x[i] = fromJSON(x[i])
		}
		return x
	case map[string]any:
		for k := range x {
			x[k] = fromJSON(x[k])
		}
		return x
	}
	return v
}
