package statusdir

import "fmt"

// SetVerdict makes name (ReadyMarker or FailedMarker) the one verdict
// marker, holding m: it removes the other marker first, so that the two are
// never present together, and then writes this one. The marker is the last
// write of a pass: call SetVerdict after the object files and app.yaml.
//
// m.Time records when the verdict was first reached: when the marker already
// holds the same digest, generation, reason and message, its time is kept,
// so that repeating a verdict writes nothing and changed is false.
func (d *Dir) SetVerdict(name string, m Marker) (changed bool, err error) {
	other, err := otherMarker(name)
	if err != nil {
		return false, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	r, err := d.openRoot(true)
	if err != nil {
		return false, err
	}
	defer r.Close()
	if old, err := readRootFile(r, name); err == nil {
		if prev, err := parseMarker(old); err == nil && sameVerdict(*prev, m) {
			m.Time = prev.Time
		}
	}
	data, err := Marshal(m)
	if err != nil {
		return false, fmt.Errorf("write status file %q: %w", d.path(name), err)
	}
	removed, err := d.remove(r, other, true)
	if err != nil {
		return false, err
	}
	written, err := d.writeFile(r, name, data)
	return removed || written, err
}

// ClearVerdict removes both markers: the verdict is pending.
func (d *Dir) ClearVerdict() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	r, err := d.openRoot(false)
	if err != nil || r == nil {
		return err
	}
	defer r.Close()
	removedFailed, err := d.remove(r, FailedMarker, false)
	if err != nil {
		return err
	}
	removedReady, err := d.remove(r, ReadyMarker, false)
	if err != nil || !removedFailed && !removedReady {
		return err
	}
	if err := syncDir(r, "."); err != nil {
		return fmt.Errorf("sync status directory %q: %w", d.root, err)
	}
	return nil
}

func otherMarker(name string) (string, error) {
	switch name {
	case ReadyMarker:
		return FailedMarker, nil
	case FailedMarker:
		return ReadyMarker, nil
	}
	return "", fmt.Errorf("set verdict: %q is not a marker (want %q or %q)", name, ReadyMarker, FailedMarker)
}

func sameVerdict(a, b Marker) bool {
	return a.Digest == b.Digest && a.Generation == b.Generation && a.Reason == b.Reason && a.Message == b.Message
}
