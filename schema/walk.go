package schema

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/token"
	"go.yaml.in/yaml/v3"
)

// walker visits YAML nodes alongside the schema value that constrains each
// one. CUE decides what is valid (every leaf is unified with its schema);
// the walker decides how to say it, using the schema's structure (fields,
// enums, kinds) and its @rdd attributes. It keeps going after a problem so
// that every problem in the file is reported at once.
type walker struct {
	s      *Schema
	file   string
	errs   Errors
	budget int // nodes left before alias expansion is called a bomb
	// items is the @rdd(items=...) wording of the list or map whose
	// entry is being walked: what an entry may be, since attributes sit
	// on fields and an entry is none.
	items string
}

func (w *walker) fail(n *yaml.Node, segs []string, format string, args ...any) {
	w.errs = append(w.errs, &Error{File: w.file, Line: max(n.Line, 1), Column: max(n.Column, 1),
		Path: FormatPath(segs), Msg: fmt.Sprintf(format, args...)})
}

// document checks the whole file and returns its Go value (nil: empty).
func (w *walker) document(doc *yaml.Node) any {
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil // a file holding only comments or `~`
	}
	return w.node(root, nil, w.s.root)
}

// node checks n against sch, the schema that constrains it.
func (w *walker) node(n *yaml.Node, segs []string, sch cue.Value) any {
	if w.budget--; w.budget < 0 {
		if w.budget == -1 {
			w.fail(n, segs, "too many nodes after expanding anchors and aliases (over %d); write the values out", maxNodes)
		}
		return nil
	}
	if n.Kind == yaml.AliasNode {
		return w.node(n.Alias, segs, sch)
	}
	kind := sch.IncompleteKind()
	if kind == cue.TopKind {
		return w.anyValue(n, segs) // an open value: containerEngine.config
	}
	switch n.Kind {
	case yaml.MappingNode:
		if kind&cue.StructKind == 0 {
			w.fail(n, segs, "expected %s, got a mapping", describeAllowed(sch))
			return nil
		}
		return w.mapping(n, segs, sch)
	case yaml.SequenceNode:
		if kind&cue.ListKind == 0 {
			w.fail(n, segs, "expected %s, got a list", describeAllowed(sch))
			return nil
		}
		return w.sequence(n, segs, sch)
	case yaml.ScalarNode:
		return w.scalar(n, segs, sch)
	}
	w.fail(n, segs, "unexpected YAML node")
	return nil
}

// child returns the schema of field name of the record or map sch. A
// record's own field comes from its field list; a map's entry is found by
// asking CUE what may stand at that key, which applies the key pattern and
// yields bottom for a key the pattern refuses.
func (w *walker) child(sch cue.Value, fields []field, name string) cue.Value {
	if len(fields) > 0 {
		for _, f := range fields {
			if f.name == name {
				return f.value
			}
		}
		return w.s.bottom
	}
	p := cue.MakePath(cue.Str(name))
	return sch.FillPath(p, w.s.top).LookupPath(p)
}

// mapEntry returns the schema of an entry of the map sch: what may stand
// at a key its pattern accepts. For code that describes the schema rather
// than a file (the JSON Schema, the tests); s.mu must be held.
func (s *Schema) mapEntry(sch cue.Value) cue.Value {
	w := &walker{s: s}
	for _, key := range []string{"a", "A", "a.b"} {
		if e := w.child(sch, nil, key); e.Err() == nil && e.IncompleteKind() != cue.BottomKind {
			return e
		}
	}
	return s.bottom
}

func (w *walker) mapping(n *yaml.Node, segs []string, sch cue.Value) any {
	fields := recordFields(sch)
	defer func(outer string) { w.items = outer }(w.items)
	w.items = ""
	if len(fields) == 0 {
		w.items = attr(sch, "items")
	}
	out := map[string]any{}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.Tag == "!!null" {
			w.fail(k, segs, "a key must be a plain string")
			continue
		}
		if k.Tag == "!!merge" {
			w.fail(k, segs, "merge keys (<<) are not supported; write the fields out")
			continue
		}
		name := k.Value
		childSegs := append(slices.Clip(segs), name)
		if line, dup := seen[name]; dup {
			w.fail(k, childSegs, "duplicate key (first set at line %d); keep one", line)
			continue
		}
		seen[name] = k.Line
		child := w.child(sch, fields, name)
		if child.Err() != nil || child.IncompleteKind() == cue.BottomKind {
			w.notAllowed(k, segs, name, fieldNames(fields), sch)
			continue
		}
		if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
			if v.Value == "~" && child.IncompleteKind()&cue.StringKind != 0 {
				w.fail(v, childSegs, `~ means null in YAML; write "~" in quotes for the home directory`)
				continue
			}
			// `key:` with nothing after it: not set, the default applies.
			// For an entry of a map (containers: {web: }) it declares the
			// entry with every default.
			if len(fields) == 0 && child.IncompleteKind()&cue.StructKind != 0 {
				out[name] = map[string]any{}
			}
			continue
		}
		if val := w.node(v, childSegs, child); val != nil {
			out[name] = val
		}
	}
	w.required(n, segs, fields, seen)
	return out
}

// required reports fields a record must have that the file left out: those
// neither optional nor defaulted (an image override's location). A key that
// is present but wrong has been reported already.
func (w *walker) required(n *yaml.Node, segs []string, fields []field, present map[string]int) {
	for _, f := range fields {
		if _, ok := present[f.name]; ok || f.optional || f.value.IncompleteKind()&cue.StructKind != 0 {
			continue
		}
		if _, hasDefault := f.value.Default(); hasDefault || f.value.IsConcrete() || markedDefault(f.value) {
			continue
		}
		w.fail(n, segs, "missing field %s (expected %s)", quote(f.name), describeAllowed(f.value))
	}
}

// markedDefault reports whether the field's own source marks a default
// with *, for a default CUE cannot evaluate before the record is complete
// (`hostPort: *guestPort | #Port`).
func markedDefault(v cue.Value) bool {
	f, ok := v.Source().(*ast.Field)
	if !ok {
		return false
	}
	var marked func(e ast.Expr) bool
	marked = func(e ast.Expr) bool {
		switch e := e.(type) {
		case *ast.UnaryExpr:
			return e.Op == token.MUL
		case *ast.BinaryExpr:
			return e.Op == token.OR && (marked(e.X) || marked(e.Y))
		case *ast.ParenExpr:
			return marked(e.X)
		}
		return false
	}
	return marked(f.Value)
}

// notAllowed explains a key the schema refuses: an unknown field of a
// record (with a did-you-mean), or a map key of the wrong form.
func (w *walker) notAllowed(k *yaml.Node, segs []string, name string, fields []string, sch cue.Value) {
	childSegs := append(slices.Clip(segs), name)
	if use := reservedKey(sch, name); use != "" {
		w.fail(k, childSegs, "set by rdd; use %s", use)
		return
	}
	if len(fields) == 0 {
		what := attr(sch, "keys")
		if what == "" {
			what = "a plain name"
		}
		w.fail(k, childSegs, "%s is not a valid name (expected %s)", quote(name), what)
		return
	}
	allowed := strings.Join(fields, ", ")
	if s := suggest(name, fields); s != "" {
		w.fail(k, childSegs, "unknown field %s (did you mean %s? allowed: %s)", quote(name), quote(s), allowed)
		return
	}
	w.fail(k, childSegs, "unknown field %s (allowed: %s)", quote(name), allowed)
}

func (w *walker) sequence(n *yaml.Node, segs []string, sch cue.Value) any {
	elem, ok := listElem(sch)
	if !ok {
		w.fail(n, segs, "expected %s, got a list", describeAllowed(sch))
		return nil
	}
	defer func(outer string) { w.items = outer }(w.items)
	w.items = attr(sch, "items")
	out := make([]any, 0, len(n.Content))
	for i, item := range n.Content {
		itemSegs := append(slices.Clip(segs), "["+strconv.Itoa(i)+"]")
		if item.Kind == yaml.ScalarNode && item.Tag == "!!null" {
			w.fail(item, itemSegs, "empty list item; remove it or give a value")
			continue
		}
		out = append(out, w.node(item, itemSegs, elem))
	}
	return out
}

func (w *walker) scalar(n *yaml.Node, segs []string, sch cue.Value) any {
	val, err := scalarValue(n)
	if err != nil {
		w.fail(n, segs, "%v", err)
		return nil
	}
	if val == nil {
		return nil
	}
	if sch.Unify(w.s.ctx.Encode(val)).Validate(cue.Concrete(true)) == nil {
		return val
	}
	given := describeValue(n, val)
	if !kindAllows(sch.IncompleteKind(), val) {
		allowed := describeAllowed(sch)
		if attr(sch, "expect") == "" && w.items != "" {
			allowed = w.items
		}
		w.fail(n, segs, "expected %s, got %s", allowed, given)
		return nil
	}
	if enum := enumValues(sch); len(enum) > 0 {
		w.fail(n, segs, "%s is not one of %s", given, strings.Join(enum, ", "))
		return nil
	}
	expect := attr(sch, "expect")
	if str, ok := val.(string); ok && str != "" && attr(sch, "form") != "" {
		expect = attr(sch, "form")
	}
	if expect == "" {
		expect = w.items
	}
	if expect == "" {
		expect = kindName(sch.IncompleteKind())
	}
	if _, isNum := val.(int64); isNum {
		w.fail(n, segs, "%s is out of range (allowed: %s)", given, expect)
		return nil
	}
	w.fail(n, segs, "%s is not valid (expected %s)", given, expect)
	return nil
}

// anyValue converts a YAML node where the schema allows any value (a
// daemon.json key) to its Go value, still counting nodes against the alias
// budget and refusing what JSON cannot hold.
func (w *walker) anyValue(n *yaml.Node, segs []string) any {
	switch n.Kind {
	case yaml.MappingNode:
		out := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode || k.ShortTag() != "!!str" {
				w.fail(k, segs, "a key must be a plain string")
				continue
			}
			childSegs := append(slices.Clip(segs), k.Value)
			if _, dup := out[k.Value]; dup {
				w.fail(k, childSegs, "duplicate key; keep one")
				continue
			}
			out[k.Value] = w.budgeted(v, childSegs)
		}
		return out
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for i, item := range n.Content {
			out = append(out, w.budgeted(item, append(slices.Clip(segs), "["+strconv.Itoa(i)+"]")))
		}
		return out
	case yaml.AliasNode:
		return w.budgeted(n.Alias, segs)
	}
	val, err := scalarValue(n)
	if err != nil {
		w.fail(n, segs, "%v", err)
	}
	return val
}

func (w *walker) budgeted(n *yaml.Node, segs []string) any {
	if w.budget--; w.budget < 0 {
		if w.budget == -1 {
			w.fail(n, segs, "too many nodes after expanding anchors and aliases (over %d); write the values out", maxNodes)
		}
		return nil
	}
	return w.anyValue(n, segs)
}

// reservedKey returns the field to use instead of key, when the map sch
// refuses key because rdd sets it itself (@rdd(reserved="key=field,...")).
func reservedKey(sch cue.Value, key string) string {
	for _, pair := range strings.Split(attr(sch, "reserved"), ",") {
		if k, use, ok := strings.Cut(pair, "="); ok && k == key {
			return use
		}
	}
	return ""
}

// scalarValue converts a YAML scalar to the Go value CUE will see, by its
// resolved tag. YAML 1.2 rules apply: `yes` and `on` are strings.
func scalarValue(n *yaml.Node) (any, error) {
	switch n.ShortTag() {
	case "!!null":
		return nil, nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return nil, fmt.Errorf("cannot read %q as true or false", n.Value)
		}
		return b, nil
	case "!!int":
		var i int64
		if err := n.Decode(&i); err != nil {
			return nil, fmt.Errorf("number %s is too large", n.Value)
		}
		return i, nil
	case "!!float":
		var f float64
		if err := n.Decode(&f); err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, fmt.Errorf("%s is not a usable number", n.Value)
		}
		return f, nil
	case "!!str", "!!timestamp":
		return n.Value, nil
	}
	return nil, fmt.Errorf("YAML tag %s is not supported; remove the tag", n.Tag)
}

func kindAllows(k cue.Kind, val any) bool {
	switch val.(type) {
	case bool:
		return k&cue.BoolKind != 0
	case int64:
		return k&cue.IntKind != 0
	case float64:
		return k&cue.FloatKind != 0
	case string:
		return k&cue.StringKind != 0
	}
	return false
}

// field is one field a record allows, with its schema.
type field struct {
	name     string
	value    cue.Value
	optional bool
}

// recordFields lists the regular and optional fields a record allows, in
// schema order, read once per mapping. A map (pattern constraint only) has
// none.
func recordFields(sch cue.Value) []field {
	var fields []field
	it, err := sch.Fields(cue.Optional(true))
	if err != nil {
		return nil
	}
	for it.Next() {
		if sel := it.Selector(); sel.IsString() {
			fields = append(fields, field{name: sel.Unquoted(), value: it.Value(), optional: it.IsOptional()})
		}
	}
	return fields
}

func fieldNames(fields []field) []string {
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	return names
}

// unwrap strips the `_ &` the walker adds when it asks what may stand at a
// path, returning the constraint's own top-level operator and operands.
func unwrap(v cue.Value) (cue.Op, []cue.Value) {
	op, args := v.Expr()
	for op == cue.AndOp {
		var rest []cue.Value
		for _, a := range args {
			if a.IncompleteKind() != cue.TopKind {
				rest = append(rest, a)
			}
		}
		if len(rest) != 1 || len(rest) == len(args) {
			return op, args
		}
		op, args = rest[0].Expr()
	}
	return op, args
}

// enumValues returns the allowed values of a disjunction of concrete
// scalars (`*"running" | "stopped"`), in schema order, or nil.
func enumValues(sch cue.Value) []string {
	op, args := unwrap(sch)
	if op != cue.OrOp {
		return nil
	}
	var out []string
	for _, a := range args {
		if !a.IsConcrete() || a.IncompleteKind()&(cue.StringKind|cue.IntKind|cue.BoolKind) == 0 {
			return nil
		}
		if s, err := a.String(); err == nil {
			out = append(out, s)
			continue
		}
		out = append(out, fmt.Sprint(a))
	}
	return out
}

// listElem returns the element schema of a list constraint, looking
// through a default (`*[...] | [...#Mount]`).
func listElem(sch cue.Value) (cue.Value, bool) {
	anyIndex := cue.MakePath(cue.AnyIndex)
	if e := sch.LookupPath(anyIndex); e.Exists() {
		return e, true
	}
	// A disjunction's list arm, or the one operand CUE leaves of
	// `*[] | [...T]` (the empty default being an instance of the list).
	_, args := unwrap(sch)
	for _, a := range args {
		if e := a.LookupPath(anyIndex); e.Exists() {
			return e, true
		}
	}
	return cue.Value{}, false
}

// attr returns the value of key in the field's @rdd(...) attribute.
func attr(v cue.Value, key string) string {
	a := v.Attribute("rdd")
	if a.Err() != nil {
		return ""
	}
	s, ok, err := a.Lookup(0, key)
	if err != nil || !ok {
		return ""
	}
	return s
}

// describeAllowed says what may stand at a path: the schema's own wording
// when it has one, the enum, or the kind.
func describeAllowed(sch cue.Value) string {
	if a := attr(sch, "expect"); a != "" {
		return a
	}
	if enum := enumValues(sch); len(enum) > 0 {
		return "one of " + strings.Join(enum, ", ")
	}
	return kindName(sch.IncompleteKind())
}

func kindName(k cue.Kind) string {
	var names []string
	for _, kn := range []struct {
		k    cue.Kind
		name string
	}{
		{cue.BoolKind, "true or false"},
		{cue.IntKind, "a whole number"},
		{cue.FloatKind, "a number"},
		{cue.StringKind, "a string"},
		{cue.StructKind, "a mapping"},
		{cue.ListKind, "a list"},
	} {
		if k&kn.k != 0 && !(kn.k == cue.FloatKind && k&cue.IntKind != 0) {
			names = append(names, kn.name)
		}
	}
	if len(names) == 0 {
		return "nothing here"
	}
	return strings.Join(names, " or ")
}

// describeValue renders a user's value for a message: strings quoted, and
// strings that YAML 1.1 would have read as booleans called out, because
// `running: yes` is a common surprise.
func describeValue(n *yaml.Node, val any) string {
	switch v := val.(type) {
	case string:
		switch strings.ToLower(v) {
		case "yes", "no", "on", "off", "y", "n":
			return fmt.Sprintf("the string %s (write true or false)", quote(v))
		}
		return quote(v)
	}
	return n.Value
}
