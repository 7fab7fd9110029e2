package docker

import (
	"bytes"
	"slices"

	"github.com/rddproject/rdd/statusdir"
)

// reported is the object files one result gave a status subdirectory, and
// the token under which statusdir remembers their sync.
type reported struct {
	token uint64
	files map[string][]byte
}

// report returns the Deltas of a result whose Mirrors are files: for each
// subdirectory, the objects whose entry differs from the one this
// connection's last result gave it, so that a pass that follows an event
// has statusdir write that container's file and look at no other. A full
// sync, and the first result of a connection, have no Base: statusdir
// compares the whole directory with them, which also undoes any change
// that someone else made to the files. The maps in files are kept, not
// copied: the mirror never changes a map it has handed out (it builds new
// ones, and declaredFiles copies before it writes).
func (c *conn) report(files map[string]map[string][]byte, full bool) map[string]statusdir.Delta {
	if c.reported == nil {
		c.reported = map[string]reported{}
	}
	out := make(map[string]statusdir.Delta, len(files))
	for sub, now := range files {
		d := statusdir.Delta{Token: statusdir.NewToken()}
		if prev, ok := c.reported[sub]; ok && !full {
			d.Base, d.Names = prev.token, changedNames(prev.files, now)
		}
		c.reported[sub] = reported{token: d.Token, files: now}
		out[sub] = d
	}
	return out
}

// changedNames lists, sorted, the objects whose entry differs between two
// results: added, removed, or with other bytes (a nil entry, content not
// known right now, differs from any content). Files that the mirror did
// not render again share their bytes with the last result, so most
// comparisons are of a slice with itself.
func changedNames(prev, now map[string][]byte) []string {
	names := []string{}
	for name, data := range now {
		old, ok := prev[name]
		if !ok || (old == nil) != (data == nil) || !bytes.Equal(old, data) {
			names = append(names, name)
		}
	}
	for name := range prev {
		if _, ok := now[name]; !ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}
