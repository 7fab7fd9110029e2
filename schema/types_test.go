package schema

import (
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"cuelang.org/go/cue"
)

// shapeChecker walks desired.cue alongside the Go types of types.go. Go's
// types are written by hand, so this test is what keeps them derived from
// the schema: a field, list or map in one and not the other, a kind that
// differs, or optional-ness that disagrees (optional in CUE, omitempty in
// Go) fails it.
type shapeChecker struct {
	t     *testing.T
	enums map[string][]string // string enums found, by field path
}

func (c *shapeChecker) check(path string, sch cue.Value, typ reflect.Type) {
	c.t.Helper()
	kind := sch.IncompleteKind()
	switch {
	case kind == cue.TopKind:
		if typ.Kind() != reflect.Interface {
			c.t.Errorf("%s: the schema allows any value; Go has %s, want any", path, typ)
		}
	case kind&cue.StructKind != 0:
		if typ.Kind() == reflect.Pointer {
			typ = typ.Elem()
		}
		fields := recordFields(sch)
		if len(fields) == 0 {
			if typ.Kind() != reflect.Map || typ.Key().Kind() != reflect.String {
				c.t.Errorf("%s: the schema has a map; Go has %s", path, typ)
				return
			}
			c.check(path+".*", Default().mapEntry(sch), typ.Elem())
			return
		}
		if typ.Kind() != reflect.Struct {
			c.t.Errorf("%s: the schema has a record; Go has %s", path, typ)
			return
		}
		goFields := map[string]reflect.StructField{}
		for i := range typ.NumField() {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				c.t.Errorf("%s: Go field %s has no json tag naming its schema field", path, f.Name)
				continue
			}
			goFields[name] = f
		}
		for _, f := range fields {
			p := strings.TrimPrefix(path+"."+f.name, ".")
			gf, ok := goFields[f.name]
			if !ok {
				c.t.Errorf("%s: in desired.cue but not in the Go type %s (add it to types.go)", p, typ)
				continue
			}
			delete(goFields, f.name)
			omit := strings.HasSuffix(gf.Tag.Get("json"), ",omitempty")
			if omit != f.optional {
				c.t.Errorf("%s: optional in CUE is %v, omitempty in Go is %v", p, f.optional, omit)
			}
			if y, _, _ := strings.Cut(gf.Tag.Get("yaml"), ","); y != f.name {
				c.t.Errorf("%s: yaml tag %q differs from the json tag", p, y)
			}
			c.check(p, f.value, gf.Type)
		}
		for name := range goFields {
			c.t.Errorf("%s: Go field %q of %s is not in desired.cue", path, name, typ)
		}
	case kind&cue.ListKind != 0:
		elem, ok := listElem(sch)
		if !ok || typ.Kind() != reflect.Slice {
			c.t.Errorf("%s: the schema has a list; Go has %s", path, typ)
			return
		}
		c.check(path+"[]", elem, typ.Elem())
	default:
		want := map[cue.Kind]reflect.Kind{cue.BoolKind: reflect.Bool, cue.IntKind: reflect.Int, cue.StringKind: reflect.String}[kind]
		if want == reflect.Invalid || typ.Kind() != want {
			c.t.Errorf("%s: the schema has %s; Go has %s", path, kindName(kind), typ)
		}
		if enum := enumValues(sch); len(enum) > 0 && kind == cue.StringKind {
			c.enums[path] = enum
		}
	}
}

func TestGoTypesMatchSchema(t *testing.T) {
	s := Default()
	c := &shapeChecker{t: t, enums: map[string][]string{}}
	c.check("", s.root, reflect.TypeFor[Desired]())
	for path, enum := range c.enums {
		if got, ok := enumTable[path]; !ok || !slices.Equal(got, enum) {
			t.Errorf("%s: desired.cue allows %q; enums.go has %q", path, enum, got)
		}
	}
	for path := range enumTable {
		if _, ok := c.enums[path]; !ok {
			t.Errorf("enums.go lists %s, which is no enum of desired.cue", path)
		}
	}
}

// The Go value a file decodes to must carry every value CUE computed for it,
// defaults included: this is what makes a field or default added to the CUE
// alone fail the tests rather than vanish on the way to the daemon.
func TestGoValuesMatchSchema(t *testing.T) {
	full, err := os.ReadFile("../examples/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"defaults": nil, "full.yaml": full} {
		t.Run(name, func(t *testing.T) {
			s := Default()
			d, err := s.Parse(name, data)
			if err != nil {
				t.Fatal(err)
			}
			goJSON, err := json.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			doc, err := parseYAML(name, data)
			if err != nil {
				t.Fatal(err)
			}
			w := &walker{s: s, file: name, budget: maxNodes}
			val := w.document(doc)
			if val == nil {
				val = map[string]any{}
			}
			cueJSON, err := s.root.Unify(s.ctx.Encode(val)).MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			var fromGo, fromCUE any
			if err := json.Unmarshal(goJSON, &fromGo); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(cueJSON, &fromCUE); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(fromGo, fromCUE) {
				t.Errorf("Go value differs from CUE's:\nGo:  %s\nCUE: %s", goJSON, cueJSON)
			}
		})
	}
}
