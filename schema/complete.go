package schema

// Completion is what may follow a key path, for shell completion of
// `rdd get` and `rdd set`, read from the schema so a field added to
// desired.cue completes without anything else changing.
type Completion struct {
	Kind   Kind
	Fields []string // the fields of a record, in schema order
	Values []string // the allowed values of an enum (or true, false)
}

// Complete describes what may stand at path; an error for a path the
// schema does not allow.
func (s *Schema) Complete(path []string) (Completion, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sch, kind, err := s.lookup(path)
	if err != nil {
		return Completion{}, err
	}
	c := Completion{Kind: kind}
	switch kind {
	case KindRecord:
		c.Fields = fieldNames(recordFields(sch))
	case KindBool:
		c.Values = []string{"true", "false"}
	case KindString, KindInt:
		c.Values = enumValues(sch)
	}
	return c, nil
}
