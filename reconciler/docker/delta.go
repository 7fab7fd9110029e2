package docker

import (
	"bytes"
	"slices"

	"github.com/rddproject/rdd/statusdir"
)

// reported is the object files one result gave a status directory, and the
// token under which statusdir remembers their sync.
type reported struct {
	token uint64
	files map[string]statusdir.Entry
}

// report sets the Delta of each Mirror in mirrors, a result's: the objects
// whose Entry differs from the one this connection's last result gave the
// directory, so that a pass that follows an event has statusdir write that
// container's file and look at no other. A full sync, and the first result
// of a connection, have no Base: statusdir compares the whole directory
// with them, which also undoes any change that someone else made to the
// files. The maps of Files are kept, not copied: the mirror never changes a
// map it has handed out (it builds new ones, and declaredFiles copies
// before it writes).
func (c *conn) report(mirrors map[string]statusdir.Mirror, full bool) {
	if c.reported == nil {
		c.reported = map[string]reported{}
	}
	for dir, m := range mirrors {
		if m.Leave {
			continue // nothing is written: the next Delta follows the last one written
		}
		d := statusdir.Delta{Token: statusdir.NewToken()}
		if prev, ok := c.reported[dir]; ok && !full {
			d.Base, d.Names = prev.token, changedNames(prev.files, m.Files)
		}
		c.reported[dir] = reported{token: d.Token, files: m.Files}
		m.Delta = d
		mirrors[dir] = m
	}
}

// changedNames lists, sorted, the objects whose Entry differs between two
// results: added, removed, kept instead of written or the other way round,
// or with other bytes. Files that the mirror did not render again share
// their bytes with the last result, so most comparisons are of a slice
// with itself.
func changedNames(prev, now map[string]statusdir.Entry) []string {
	names := []string{}
	for name, e := range now {
		old, ok := prev[name]
		if !ok || old.Keep != e.Keep || !bytes.Equal(old.Data, e.Data) {
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
