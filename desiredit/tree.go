package desiredit

import "fmt"

// The decoded form of a document (yaml.Unmarshal into any): what an edit
// must have changed, and nothing else. Mappings decode as map[string]any,
// or map[any]any when a key is not a string; keys are matched by their
// text, as the node walk matches them.

// setIn returns tree with the value at path set to v, creating mappings on
// the way.
func setIn(tree any, path []string, v any) any {
	if len(path) == 0 {
		return v
	}
	switch m := tree.(type) {
	case map[string]any:
		m[path[0]] = setIn(m[path[0]], path[1:], v)
		return m
	case map[any]any:
		k := keyOf(m, path[0])
		m[k] = setIn(m[k], path[1:], v)
		return m
	}
	return map[string]any{path[0]: setIn(nil, path[1:], v)}
}

// getIn returns the value at path in tree, nil when there is none.
func getIn(tree any, path []string) any {
	for _, seg := range path {
		switch m := tree.(type) {
		case map[string]any:
			tree = m[seg]
		case map[any]any:
			tree = m[keyOf(m, seg)]
		default:
			return nil
		}
	}
	return tree
}

// deleteIn returns tree without the key at path. A block mapping left with
// no entries reads back as null, a flow one as {}: nilIfEmpty says which.
func deleteIn(tree any, path []string, nilIfEmpty bool) any {
	switch m := tree.(type) {
	case map[string]any:
		if len(path) == 1 {
			delete(m, path[0])
			if len(m) == 0 && nilIfEmpty {
				return nil
			}
			return m
		}
		m[path[0]] = deleteIn(m[path[0]], path[1:], nilIfEmpty)
		return m
	case map[any]any:
		k := keyOf(m, path[0])
		if len(path) == 1 {
			delete(m, k)
			if len(m) == 0 && nilIfEmpty {
				return nil
			}
			return m
		}
		m[k] = deleteIn(m[k], path[1:], nilIfEmpty)
		return m
	}
	return tree
}

// keyOf finds the key of m whose text is name, or returns name.
func keyOf(m map[any]any, name string) any {
	for k := range m {
		if fmt.Sprint(k) == name {
			return k
		}
	}
	return name
}

func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		c := make(map[string]any, len(t))
		for k, x := range t {
			c[k] = deepCopy(x)
		}
		return c
	case map[any]any:
		c := make(map[any]any, len(t))
		for k, x := range t {
			c[k] = deepCopy(x)
		}
		return c
	case []any:
		c := make([]any, len(t))
		for i, x := range t {
			c[i] = deepCopy(x)
		}
		return c
	}
	return v
}
