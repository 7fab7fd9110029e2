package history

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rddproject/rdd/atomicfile"

	"go.yaml.in/yaml/v3"
)

// Keep is how many entries the store keeps; older ones are removed.
const Keep = 50

// DesiredPath is the path under which an entry stores the desired file.
const DesiredPath = "desired.yaml"

// MetaFile names the description of an entry in its directory.
const MetaFile = "meta.yaml"

// TempPrefix starts the names of the temporary files and directories a
// writer creates; a later write removes the ones a crash left.
const TempPrefix = ".tmp-"

// maxFileSize bounds a stored file a reader accepts (desired files are at
// most 1 MiB).
const maxFileSize = 4 << 20

const (
	dirMode  = 0o700
	fileMode = 0o600
)

// Entry describes one applied desired content.
type Entry struct {
	Generation int64     `yaml:"generation" json:"generation"`
	Digest     string    `yaml:"digest" json:"digest"` // the digest of the whole content, as in status
	Time       time.Time `yaml:"time" json:"time"`     // when the daemon applied it
	// Verdict is the last verdict the daemon reached for this generation:
	// ready or failed, with its reason and the first line of its message;
	// empty while none was reached.
	Verdict string `yaml:"verdict" json:"verdict"`
	Reason  string `yaml:"reason,omitempty" json:"reason,omitempty"`
	Message string `yaml:"message,omitempty" json:"message,omitempty"`
	Files   []File `yaml:"files" json:"files"`
}

// File is one stored file of an entry.
type File struct {
	Path   string `yaml:"path" json:"path"`     // slash-separated, relative, such as desired.yaml
	Digest string `yaml:"digest" json:"digest"` // "sha256:" + hex of its bytes
}

// Store is the history directory of one home.
type Store struct {
	dir string
}

// Open returns the store in dir (HOME/run/history). Nothing is created
// until the first Add.
func Open(dir string) *Store { return &Store{dir: filepath.Clean(dir)} }

// Dir returns the store's directory.
func (s *Store) Dir() string { return s.dir }

// EntryName is the directory name of the entry of generation gen.
func EntryName(gen int64) string { return fmt.Sprintf("%010d", gen) }

// Digest is the digest of stored bytes: "sha256:" + hex.
func Digest(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Add stores the entry e with files (by path; e.Files is filled from
// them), replacing an entry of the same generation, and removes the
// entries older than the newest Keep.
func (s *Store) Add(e Entry, files map[string][]byte) error {
	if e.Generation <= 0 {
		return fmt.Errorf("add history entry: generation %d is not positive", e.Generation)
	}
	e.Time = e.Time.UTC().Truncate(time.Second)
	e.Files = e.Files[:0:0]
	for _, p := range slices.Sorted(maps.Keys(files)) {
		if err := checkPath(p); err != nil {
			return fmt.Errorf("add history entry %d: file %q: %w", e.Generation, p, err)
		}
		e.Files = append(e.Files, File{Path: p, Digest: Digest(files[p])})
	}
	meta, err := yaml.Marshal(e)
	if err != nil {
		return fmt.Errorf("add history entry %d: %w", e.Generation, err)
	}
	r, err := s.openRoot(true)
	if err != nil {
		return err
	}
	defer r.Close()
	removeTemps(r)

	tmp, err := mkTempDir(r, EntryName(e.Generation))
	if err != nil {
		return fmt.Errorf("add history entry %d in %q: %w", e.Generation, s.dir, err)
	}
	fail := func(err error) error {
		r.RemoveAll(tmp)
		return fmt.Errorf("add history entry %d in %q: %w", e.Generation, s.dir, err)
	}
	for _, f := range e.Files {
		if err := writeNew(r, path.Join(tmp, f.Path), files[f.Path]); err != nil {
			return fail(err)
		}
	}
	if err := writeNew(r, path.Join(tmp, MetaFile), meta); err != nil {
		return fail(err)
	}
	if err := syncDir(r, tmp); err != nil {
		return fail(err)
	}
	name := EntryName(e.Generation)
	if _, err := r.Lstat(name); err == nil {
		if err := r.RemoveAll(name); err != nil {
			return fail(err)
		}
	}
	if err := r.Rename(tmp, name); err != nil {
		return fail(err)
	}
	if err := syncDir(r, "."); err != nil {
		return fmt.Errorf("add history entry %d in %q: %w", e.Generation, s.dir, err)
	}
	return s.prune(r)
}

// SetVerdict records the verdict reached for generation gen. A generation
// without an entry (its content was invalid, or the entry was pruned) is
// not an error; a verdict already recorded writes nothing.
func (s *Store) SetVerdict(gen int64, verdict, reason, message string) error {
	message, _, _ = strings.Cut(message, "\n")
	r, err := s.openRoot(false)
	if err != nil || r == nil {
		return err
	}
	defer r.Close()
	name := EntryName(gen)
	if fi, err := r.Lstat(name); err != nil || !fi.IsDir() {
		return nil
	}
	e, err := readMeta(r, name)
	if err != nil {
		return fmt.Errorf("record the verdict of history entry %d: %w", gen, err)
	}
	if e.Verdict == verdict && e.Reason == reason && e.Message == message {
		return nil
	}
	e.Verdict, e.Reason, e.Message = verdict, reason, message
	meta, err := yaml.Marshal(e)
	if err != nil {
		return err
	}
	if err := replace(r, path.Join(name, MetaFile), meta); err != nil {
		return fmt.Errorf("record the verdict of history entry %d: %w", gen, err)
	}
	return nil
}

// List returns the entries, newest first. A missing store has none;
// anything in it that is not an entry is skipped.
func (s *Store) List() ([]Entry, error) {
	r, err := s.openRoot(false)
	if err != nil || r == nil {
		return nil, err
	}
	defer r.Close()
	gens, err := generations(r)
	if err != nil {
		return nil, fmt.Errorf("list history in %q: %w", s.dir, err)
	}
	var out []Entry
	for _, g := range slices.Backward(gens) {
		e, err := readMeta(r, EntryName(g))
		if err != nil {
			continue // being replaced, or not ours
		}
		out = append(out, *e)
	}
	return out, nil
}

// Get returns the entry of generation gen and the bytes of its files, by
// path. An unknown generation gives an error matching fs.ErrNotExist.
func (s *Store) Get(gen int64) (*Entry, map[string][]byte, error) {
	r, err := s.openRoot(false)
	if err != nil {
		return nil, nil, err
	}
	if r == nil {
		return nil, nil, fmt.Errorf("history entry %d: %w", gen, fs.ErrNotExist)
	}
	defer r.Close()
	name := EntryName(gen)
	if fi, err := r.Lstat(name); err != nil || !fi.IsDir() {
		return nil, nil, fmt.Errorf("history entry %d: %w", gen, fs.ErrNotExist)
	}
	e, err := readMeta(r, name)
	if err != nil {
		return nil, nil, fmt.Errorf("read history entry %d: %w", gen, err)
	}
	files := make(map[string][]byte, len(e.Files))
	for _, f := range e.Files {
		if err := checkPath(f.Path); err != nil {
			return nil, nil, fmt.Errorf("read history entry %d: file %q: %w", gen, f.Path, err)
		}
		data, err := readRegular(r, path.Join(name, f.Path))
		if err != nil {
			return nil, nil, fmt.Errorf("read history entry %d: %w", gen, err)
		}
		if Digest(data) != f.Digest {
			return nil, nil, fmt.Errorf("read history entry %d: %s holds %s, not the %s recorded", gen, f.Path, Digest(data), f.Digest)
		}
		files[f.Path] = data
	}
	return e, files, nil
}

// prune removes every entry but the newest Keep.
func (s *Store) prune(r *os.Root) error {
	gens, err := generations(r)
	if err != nil {
		return fmt.Errorf("prune history in %q: %w", s.dir, err)
	}
	var errs []error
	for len(gens) > Keep {
		if err := r.RemoveAll(EntryName(gens[0])); err != nil {
			errs = append(errs, fmt.Errorf("prune history in %q: %w", s.dir, err))
		}
		gens = gens[1:]
	}
	return errors.Join(errs...)
}

// generations lists the generations of the entries in r, oldest first.
func generations(r *os.Root) ([]int64, error) {
	f, err := r.Open(".")
	if err != nil {
		return nil, err
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return nil, err
	}
	var gens []int64
	for _, n := range names {
		g, err := strconv.ParseInt(n, 10, 64)
		if err != nil || g <= 0 || n != EntryName(g) {
			continue
		}
		if fi, err := r.Lstat(n); err == nil && fi.IsDir() {
			gens = append(gens, g)
		}
	}
	slices.SortFunc(gens, cmp.Compare)
	return gens, nil
}

// openRoot opens the store's directory, refusing a symbolic link. With
// create it is made (mode 0700, parents too); without, a missing one gives
// nil, nil.
func (s *Store) openRoot(create bool) (*os.Root, error) {
	fi, err := os.Lstat(s.dir)
	if errors.Is(err, fs.ErrNotExist) && create {
		if err := os.MkdirAll(s.dir, dirMode); err != nil {
			return nil, fmt.Errorf("create history directory %q: %w", s.dir, err)
		}
		fi, err = os.Lstat(s.dir)
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("open history directory %q: %w", s.dir, err)
	case !fi.IsDir():
		return nil, fmt.Errorf("open history directory %q: not a directory", s.dir)
	}
	r, err := os.OpenRoot(s.dir)
	if err != nil {
		return nil, fmt.Errorf("open history directory %q: %w", s.dir, err)
	}
	if rfi, err := r.Stat("."); err != nil || !os.SameFile(fi, rfi) {
		r.Close()
		return nil, fmt.Errorf("open history directory %q: replaced while opening it", s.dir)
	}
	return r, nil
}

// checkPath accepts a clean, relative, slash-separated file path with no
// element that is hidden or the meta file.
func checkPath(p string) error {
	if !fs.ValidPath(p) || p == "." || p == MetaFile || strings.ContainsAny(p, "\\\x00") {
		return errors.New("not a clean relative path")
	}
	for _, el := range strings.Split(p, "/") {
		if strings.HasPrefix(el, ".") {
			return errors.New("hidden path elements are not stored")
		}
	}
	return nil
}

func mkTempDir(r *os.Root, base string) (string, error) {
	for range 100 {
		name := TempPrefix + base + "-" + strconv.FormatUint(rand.Uint64(), 36)
		err := r.Mkdir(name, dirMode)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return name, err
	}
	return "", errors.New("cannot create a temporary directory")
}

// writeNew creates the file rel (and its missing parent directories)
// exclusively, so that nothing planted is followed, and writes and syncs
// data.
func writeNew(r *os.Root, rel string, data []byte) error {
	if dir := path.Dir(rel); dir != "." {
		if err := r.MkdirAll(dir, dirMode); err != nil {
			return err
		}
	}
	f, err := r.OpenFile(rel, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil && runtime.GOOS != "windows" {
		err = f.Chmod(fileMode)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// replace writes data to rel atomically, through the one atomic writer.
func replace(r *os.Root, rel string, data []byte) error {
	return atomicfile.WriteIn(r, rel, data, fileMode, atomicfile.Options{})
}

// syncDir makes a directory's entries durable.
func syncDir(r *os.Root, dir string) error { return atomicfile.SyncDir(r, dir) }

// removeTemps removes what a crashed writer left at the top of the store.
func removeTemps(r *os.Root) {
	f, err := r.Open(".")
	if err != nil {
		return
	}
	names, _ := f.Readdirnames(-1)
	f.Close()
	for _, n := range names {
		if strings.HasPrefix(n, TempPrefix) {
			r.RemoveAll(n)
		}
	}
}

func readMeta(r *os.Root, name string) (*Entry, error) {
	data, err := readRegular(r, path.Join(name, MetaFile))
	if err != nil {
		return nil, err
	}
	var e Entry
	if err := yaml.Unmarshal(data, &e); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path.Join(name, MetaFile), err)
	}
	if e.Generation <= 0 || EntryName(e.Generation) != name {
		return nil, fmt.Errorf("%s: generation %d does not match its directory", path.Join(name, MetaFile), e.Generation)
	}
	return &e, nil
}

// readRegular reads the regular file rel, refusing a link, a FIFO or a
// file too large.
func readRegular(r *os.Root, rel string) ([]byte, error) {
	fi, err := r.Lstat(rel)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", rel)
	}
	f, err := r.Open(rel)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if ffi, err := f.Stat(); err != nil || !os.SameFile(fi, ffi) {
		return nil, fmt.Errorf("%s: replaced while reading it", rel)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", rel, maxFileSize)
	}
	return data, nil
}
