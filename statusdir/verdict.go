package statusdir

import (
	"fmt"
	"os"
	"sync"

	"github.com/rddproject/rdd/atomicfile"
)

// Pass is what a reconcile pass writes after its object files: app.yaml
// and the verdict.
type Pass struct {
	App any // rendered with Marshal into app.yaml; nil leaves app.yaml alone
	// Marker is ReadyMarker or FailedMarker, made the one marker and
	// holding Verdict; "" means the verdict is pending and both markers are
	// removed.
	Marker  string
	Verdict Marker
}

// WritePass writes app.yaml and the verdict of one pass as one batch, after
// the pass's object files ([Dir.SyncMirror]). Each changed file is written
// to a temporary file and synced first; then app.yaml is renamed into
// place, the other marker removed and the marker renamed into place, in
// that order, and the root directory is synced once. A reader that sees a
// marker therefore sees the app.yaml of its generation or a later one, and
// never both markers. A crash between the renames leaves the old marker
// next to the new app.yaml, or none: the daemon's first pass after a
// restart writes the marker again from app.yaml's generation.
//
// Verdict.Time records when the verdict was first reached: when the marker
// already holds the same digest, generation, reason and message, its time
// is kept, so that repeating a verdict writes nothing. Unchanged bytes are
// not written, and when nothing changed the directory is not synced either.
// verdictChanged reports that a marker was written or removed.
func (d *Dir) WritePass(p Pass) (verdictChanged bool, err error) {
	var app []byte
	if p.App != nil {
		if app, err = Marshal(p.App); err != nil {
			return false, fmt.Errorf("write status file %q: %w", d.path(AppFile), err)
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	r, err := d.openRoot(true)
	if err != nil {
		return false, err
	}
	defer r.Close()
	return d.writePass(r, app, p.Marker, p.Verdict)
}

// SetVerdict makes name (ReadyMarker or FailedMarker) the one verdict
// marker, holding m, as [Dir.WritePass] does without app.yaml. The marker
// is the last write of a pass: a pass that also writes app.yaml uses
// WritePass.
func (d *Dir) SetVerdict(name string, m Marker) (changed bool, err error) {
	if _, err := otherMarker(name); err != nil {
		return false, err
	}
	return d.WritePass(Pass{Marker: name, Verdict: m})
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
	_, err = d.writePass(r, nil, "", Marker{})
	return err
}

// writePass is WritePass below the open root r; app nil leaves app.yaml
// alone.
func (d *Dir) writePass(r *os.Root, app []byte, name string, m Marker) (bool, error) {
	remove := []string{ReadyMarker, FailedMarker}
	var marker []byte
	if name != "" {
		other, err := otherMarker(name)
		if err != nil {
			return false, err
		}
		remove = []string{other}
		if old, err := readRootFile(r, name); err == nil {
			if prev, err := parseMarker(old); err == nil && sameVerdict(*prev, m) {
				m.Time = prev.Time
			}
		}
		if marker, err = Marshal(m); err != nil {
			return false, fmt.Errorf("write status file %q: %w", d.path(name), err)
		}
	}
	pr, _, _, err := d.openDir(r, ".")
	if err != nil {
		return false, err
	}
	defer pr.Close()

	// What changed, in the order of the renames.
	var files []batchFile
	for _, f := range []batchFile{{rel: AppFile, data: app}, {rel: name, data: marker}} {
		if f.data == nil {
			continue
		}
		same, err := d.unchanged(pr, ".", f.rel, f.data)
		if err != nil {
			return false, err
		}
		if !same {
			files = append(files, f)
		}
	}
	if err := d.stage(pr, files); err != nil {
		return false, err
	}
	defer func() {
		for _, f := range files {
			f.staged.Abort()
		}
	}()
	if len(files) > 0 {
		d.state(".").listing = nil
	}
	d.step("staged")

	changed, verdictChanged := len(files) > 0, false
	commit := func(f batchFile) error {
		if err := f.staged.Commit(); err != nil {
			return fmt.Errorf("write status file %q: %w", d.path(f.rel), err)
		}
		d.step("renamed " + f.rel)
		return nil
	}
	if len(files) > 0 && files[0].rel == AppFile {
		if err := commit(files[0]); err != nil {
			return false, err
		}
		files = files[1:]
	}
	for _, other := range remove {
		removed, err := d.remove(r, other, false)
		if err != nil {
			return verdictChanged, err
		}
		if removed {
			changed, verdictChanged = true, true
			d.step("removed " + other)
		}
	}
	if len(files) > 0 {
		if err := commit(files[0]); err != nil {
			return verdictChanged, err
		}
		verdictChanged = true
	}
	if !changed {
		return false, nil
	}
	if err := syncDir(pr, "."); err != nil {
		return verdictChanged, fmt.Errorf("sync status directory %q: %w", d.root, err)
	}
	return verdictChanged, nil
}

// batchFile is one file of a batch: where it goes, its bytes and, once
// staged, its synced temporary file.
type batchFile struct {
	rel    string
	data   []byte
	staged *atomicfile.Staged
}

// stage writes and syncs the temporary files of files, in parallel so that
// the file system can commit their syncs together. On failure nothing is
// left staged.
func (d *Dir) stage(pr *os.Root, files []batchFile) error {
	errs := make([]error, len(files))
	var wg sync.WaitGroup
	for i := range files {
		f := &files[i]
		o := atomicfile.Options{}
		if d.beforeRename != nil {
			o.Prepare = func(*os.File) error { return d.beforeRename(f.rel) }
		}
		wg.Go(func() {
			s, err := atomicfile.Stage(pr, f.rel, f.data, fileMode, o)
			if err != nil {
				errs[i] = fmt.Errorf("write status file %q: %w", d.path(f.rel), err)
			}
			f.staged = s
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			for _, f := range files {
				f.staged.Abort()
			}
			return err
		}
	}
	return nil
}

// step calls the test hook afterStep, if set, after each step of a batch.
func (d *Dir) step(what string) {
	if d.afterStep != nil {
		d.afterStep(what)
	}
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
