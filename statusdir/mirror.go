package statusdir

// ObjectDirs are the object directories of status/, in the order a pass
// writes them.
func ObjectDirs() []string {
	return []string{ContainersDir, ImagesDir, NamespacesDir, VolumesDir}
}

// Mirror is what the engine says one object directory must hold after a
// pass. Its cases are explicit: [LeaveDir] keeps the directory as it is (its
// list is not known right now, as during a transient disconnect), [ClearDir]
// empties it (the engine is off), and otherwise Files is exactly what it
// holds, one file per object.
type Mirror struct {
	Dir   string // ContainersDir, ImagesDir, VolumesDir or NamespacesDir
	Leave bool   // keep the directory as it is; Files is unused
	// Files holds the directory's objects by name; every other file in
	// it is removed.
	Files map[string]Entry
	// Delta, when its Base is set, names the objects whose Entry changed
	// since an earlier Mirror of the same directory: SyncMirror then looks
	// at their files only, when it can (see delta.go).
	Delta Delta
}

// Entry is one object's file in a [Mirror]: its bytes, or [KeepFile].
type Entry struct {
	Data []byte
	// Keep says that the object exists but its content is not known right
	// now (an inspect failed): an existing file is kept as it is, and none
	// is created.
	Keep bool
}

// LeaveDir is the Mirror that keeps dir as it is.
func LeaveDir(dir string) Mirror { return Mirror{Dir: dir, Leave: true} }

// ClearDir is the Mirror that removes every object file of dir.
func ClearDir(dir string) Mirror { return Mirror{Dir: dir, Files: map[string]Entry{}} }

// FileEntry is the Entry of an object whose file holds data.
func FileEntry(data []byte) Entry { return Entry{Data: data} }

// KeepFile is the Entry of an object whose content is not known right now.
var KeepFile = Entry{Keep: true}

// SyncMirror writes m: nothing for LeaveDir, otherwise it makes m.Dir hold
// exactly m.Files (see syncObjects), looking only at the files m.Delta
// names when it follows the last sync of m.Dir (see syncDelta). changes
// counts the files written or removed.
func (d *Dir) SyncMirror(m Mirror) (changes int, err error) {
	if m.Leave {
		return 0, nil
	}
	return d.syncDelta(m.Dir, m.Files, m.Delta)
}
