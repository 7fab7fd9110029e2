package schema

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"cuelang.org/go/cue"
)

// The top-level fields of #Desired (running, vm, containerEngine, ...)
// refer to nothing outside themselves, so a document's unification is the
// unification of each section with its schema alone. A section whose
// value is one already validated is not unified again: its decoded result
// is remembered by the section's value (not its text, so that an edit of a
// comment or of another section costs nothing here). That is the fast
// path of Parse; sectionsTest checks it gives what the whole-document
// decode gives.

// maxSections bounds the remembered section results.
const maxSections = 64

// section is a remembered result: the decoded value of one top-level field.
type section struct {
	value reflect.Value // of the Desired field's type
}

// decodeSections decodes val, a document the fast walk accepted, section by
// section. An error means some section does not unify: the caller walks
// again for the messages. s.mu must be held.
func (s *Schema) decodeSections(val any) (*Desired, error) {
	doc, _ := val.(map[string]any)
	if s.sections == nil || len(s.sections) >= maxSections {
		s.sections = map[string]section{}
	}
	var d Desired
	dv := reflect.ValueOf(&d).Elem()
	for _, f := range s.at(nil, func() cue.Value { return s.root }).recordFields() {
		i, ok := desiredField(f.name)
		if !ok {
			return nil, fmt.Errorf("schema field %q has no Go field in Desired", f.name)
		}
		sv, present := doc[f.name]
		var key strings.Builder
		key.WriteString(f.name)
		key.WriteByte(0)
		keyed := !present || writeKey(&key, sv)
		if hit, ok := s.sections[key.String()]; ok && keyed {
			dv.Field(i).Set(deepCopy(hit.value))
			continue
		}
		v := f.value
		if present {
			v = v.Unify(s.ctx.Encode(sv))
		}
		out := reflect.New(dv.Field(i).Type())
		err := v.Validate(cue.Concrete(true))
		if err == nil {
			err = v.Decode(out.Interface())
		}
		if err != nil {
			return nil, err
		}
		if keyed {
			s.sections[key.String()] = section{value: deepCopy(out.Elem())}
		}
		dv.Field(i).Set(out.Elem())
	}
	return &d, nil
}

// desiredFields maps a json tag of Desired (a CUE field name) to the index
// of its Go field.
var desiredFields = func() map[string]int {
	m := map[string]int{}
	t := reflect.TypeFor[Desired]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		m[name] = i
	}
	return m
}()

func desiredField(name string) (int, bool) {
	i, ok := desiredFields[name]
	return i, ok
}

// writeKey writes an encoding of v, a value the walker built, that tells
// apart every two values CUE tells apart: the kind of each scalar (6 is
// not 6.0, nor "6") and map keys in order. It reports false for a value of
// another type, which is then not remembered.
func writeKey(b *strings.Builder, v any) bool {
	switch v := v.(type) {
	case nil:
		b.WriteByte('n')
	case bool:
		if v {
			b.WriteByte('t')
		} else {
			b.WriteByte('f')
		}
	case int64:
		b.WriteByte('i')
		b.WriteString(strconv.FormatInt(v, 10))
		b.WriteByte(';')
	case float64:
		b.WriteByte('d')
		b.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
		b.WriteByte(';')
	case string:
		writeString(b, v)
	case []any:
		b.WriteByte('[')
		for _, e := range v {
			if !writeKey(b, e) {
				return false
			}
		}
		b.WriteByte(']')
	case map[string]any:
		b.WriteByte('{')
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			writeString(b, k)
			if !writeKey(b, v[k]) {
				return false
			}
		}
		b.WriteByte('}')
	default:
		return false
	}
	return true
}

func writeString(b *strings.Builder, s string) {
	b.WriteByte('s')
	b.WriteString(strconv.Itoa(len(s)))
	b.WriteByte(':')
	b.WriteString(s)
}

// deepCopy copies v so that no map, slice or pointer is shared with it:
// a caller may change the Desired it gets.
func deepCopy(v reflect.Value) reflect.Value {
	out := reflect.New(v.Type()).Elem()
	copyInto(out, v)
	return out
}

func copyInto(dst, src reflect.Value) {
	switch src.Kind() {
	case reflect.Struct:
		for i := range src.NumField() {
			copyInto(dst.Field(i), src.Field(i))
		}
	case reflect.Map:
		if src.IsNil() {
			return
		}
		m := reflect.MakeMapWithSize(src.Type(), src.Len())
		it := src.MapRange()
		for it.Next() {
			e := reflect.New(src.Type().Elem()).Elem()
			copyInto(e, it.Value())
			m.SetMapIndex(it.Key(), e)
		}
		dst.Set(m)
	case reflect.Slice:
		if src.IsNil() {
			return
		}
		s := reflect.MakeSlice(src.Type(), src.Len(), src.Len())
		for i := range src.Len() {
			copyInto(s.Index(i), src.Index(i))
		}
		dst.Set(s)
	case reflect.Pointer:
		if src.IsNil() {
			return
		}
		p := reflect.New(src.Type().Elem())
		copyInto(p.Elem(), src.Elem())
		dst.Set(p)
	case reflect.Interface:
		if src.IsNil() {
			return
		}
		e := reflect.New(src.Elem().Type()).Elem()
		copyInto(e, src.Elem())
		dst.Set(e)
	default:
		dst.Set(src)
	}
}
