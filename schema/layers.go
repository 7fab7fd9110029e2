package schema

import (
	"cmp"
	"slices"

	"go.yaml.in/yaml/v3"
)

// ParseLayers validates a desired state made of several files and returns
// it with defaults applied, and the merged tree it was decoded from (for
// origins). Each layer is first checked on its own, with its own name in
// errors, except for the fields a record requires, which an earlier or
// later layer may give; a layer whose top level is not a mapping is an
// error there. Then the merged result is checked whole; its errors name
// the file and position that supplied the offending value. Every problem
// of every layer is reported at once, layer by layer in order; the merged
// result is checked only when every layer is valid.
//
// One layer is [Schema.Parse]. An error is an Errors.
func (s *Schema) ParseLayers(layers []Layer) (*Desired, *Merged, error) {
	if len(layers) == 1 {
		doc, err := parseDoc(layers[0].File, layers[0].Data)
		if err != nil {
			return nil, nil, err
		}
		m := &Merged{doc: doc, file: layers[0].File}
		d, err := s.check(m, false)
		if err != nil {
			return nil, nil, err
		}
		return d, m, nil
	}
	var errs Errors
	files := make([]string, len(layers))
	docs := make([]*yaml.Node, len(layers))
	for i, l := range layers {
		files[i] = l.File
		doc, err := parseDoc(l.File, l.Data)
		if err == nil {
			_, err = s.check(&Merged{doc: doc, file: l.File}, true)
		}
		if err != nil {
			errs = append(errs, AsErrors(err)...)
			continue
		}
		docs[i] = doc
	}
	if len(errs) > 0 {
		return nil, nil, errs
	}
	m := merge(files, docs)
	d, err := s.check(m, false)
	if err != nil {
		sortByLayer(AsErrors(err), files)
		return nil, nil, err
	}
	return d, m, nil
}

// sortByLayer orders errors of a merged result by the layer of their file,
// then by position (a stable sort of errors already in position order).
func sortByLayer(es Errors, files []string) {
	rank := func(f string) int {
		if i := slices.Index(files, f); i >= 0 {
			return i
		}
		return len(files)
	}
	slices.SortStableFunc(es, func(a, b *Error) int { return cmp.Compare(rank(a.File), rank(b.File)) })
}
