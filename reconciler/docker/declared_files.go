package docker

import (
	"maps"

	"github.com/rddproject/rdd/statusdir"
)

// declaredFiles puts the declaration of each declared object into its
// file: the engine's view of it with its desired state and condition, or,
// for an object that does not exist but should, a MissingFile. The kinds
// that were never listed are statusdir.LeaveDir in files, which keeps their
// files as they are, and so is a container whose content is not known
// right now. The maps in files may be shared with the mirror's cache: they
// are copied before they change.
func (e *Engine) declaredFiles(files map[string]statusdir.Mirror, m *mirror, sts []objectStatus) {
	copied := map[string]bool{}
	put := func(sub, name string, v any) {
		data, err := statusdir.Marshal(v)
		if err != nil {
			e.log.Error("render declared object file", "dir", sub, "name", name, "err", err)
			return
		}
		mi := files[sub]
		if !copied[sub] {
			mi.Files = maps.Clone(mi.Files)
			files[sub] = mi
			copied[sub] = true
		}
		mi.Files[name] = statusdir.FileEntry(data)
	}
	for i := range sts {
		st := &sts[i]
		sub := st.kind
		if files[sub].Leave || st.reason == statusdir.ReasonNotObserved {
			continue
		}
		decl := st.declaration()
		switch {
		case st.kind == kindContainers && st.exists:
			ent, ok := m.inspected[st.id]
			if !ok || ent.name != st.name {
				continue // unknown right now: the file is kept as it is
			}
			f := ent.file
			f.Declaration = decl
			put(sub, st.name, f)
		case st.kind == kindVolumes && st.exists:
			f := volumeFile(st.vol)
			f.Declaration = decl
			put(sub, st.name, f)
		case st.kind == kindImages && st.exists:
			f := imageFile(*st.img, st.name)
			f.Declaration = decl
			put(sub, st.name, f)
		case st.desired == wantAbsent: // "absent" for every kind
			// Gone, as declared: no file.
		case st.kind == kindImages:
			put(sub, st.name, statusdir.MissingFile{Tag: st.name, Declaration: decl})
		default:
			put(sub, st.name, statusdir.MissingFile{Name: st.name, Declaration: decl})
		}
	}
}
