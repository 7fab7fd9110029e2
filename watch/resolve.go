package watch

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// maxHops caps the symlinks followed for one path, as the kernels do.
const maxHops = 40

// Resolve returns the chain of paths the watcher follows for path: path
// itself (made absolute), then the path after each symlink on the way is
// replaced by its target, each absolute. When path is a symlink to a symlink
// to a file, that is the link, the middle link, and the file. A symlinked
// directory anywhere in a path counts as a hop too, so when the file exists
// the last element is its real path, free of symlinks.
//
// The file need not exist: the chain then ends at the first path that does
// not. At most 40 symlinks are followed; a loop, or more hops than that, is
// an error that names path and wraps [syscall.ELOOP]. On an error the chain
// followed so far is returned with it.
func Resolve(path string) ([]string, error) {
	r, err := resolve(path)
	return r.chain, err
}

// resolution is what one walk of a path found.
type resolution struct {
	// chain is path, then the path after each symlink expansion.
	chain []string
	// keys are the names whose change can change what path refers to: each
	// symlink met on the way, and where the walk ended (the file, or the
	// first component that is missing or not a directory). Each is a real
	// path whose parent contains no symlinks, so watching the parents of the
	// keys sees every change of the chain.
	keys []string
}

// resolve walks path one component at a time, the way the kernel does, and
// records every symlink it expands. Components already walked are real
// directories, so ".." after them is resolved exactly.
func resolve(path string) (resolution, error) {
	var r resolution
	if path == "" {
		return r, errors.New("resolve: empty path")
	}
	abs := path
	if !filepath.IsAbs(abs) {
		wd, err := os.Getwd()
		if err != nil {
			return r, fmt.Errorf("resolve %q: %w", path, err)
		}
		abs = wd + string(filepath.Separator) + path
	}
	r.chain = append(r.chain, filepath.Clean(abs))

	vol := filepath.VolumeName(abs)
	var (
		done  []string                // walked: real directories below the volume root
		todo  = split(abs[len(vol):]) // still to walk
		hops  int
		where = map[string]bool{} // link plus what followed it, for loop detection
	)
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case ".":
			continue
		case "..":
			if len(done) > 0 {
				done = done[:len(done)-1]
			}
			continue
		}
		p := join(vol, done, c)
		fi, err := os.Lstat(p)
		if err != nil {
			r.keys = append(r.keys, p)
			if errors.Is(err, fs.ErrNotExist) {
				return r, nil
			}
			return r, fmt.Errorf("resolve %q: %w", path, err)
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			if !fi.IsDir() || len(todo) == 0 {
				// The file itself, or a file where a directory should be.
				r.keys = append(r.keys, p)
				return r, nil
			}
			done = append(done, c)
			continue
		}

		r.keys = append(r.keys, p)
		hops++
		if hops > maxHops {
			return r, fmt.Errorf("resolve %q: more than %d symlinks: %w", path, maxHops, syscall.ELOOP)
		}
		state := p + "\x00" + strings.Join(todo, "\x00")
		if where[state] {
			return r, fmt.Errorf("resolve %q: symlink loop at %q: %w", path, p, syscall.ELOOP)
		}
		where[state] = true
		target, err := os.Readlink(p)
		if errors.Is(err, fs.ErrNotExist) {
			// Swapped while we looked: walk the same name again.
			delete(where, state)
			todo = append([]string{c}, todo...)
			continue
		}
		if err != nil {
			return r, fmt.Errorf("resolve %q: %w", path, err)
		}
		if filepath.IsAbs(target) {
			vol = filepath.VolumeName(target)
			target = target[len(vol):]
			done = nil
		}
		todo = append(split(target), todo...)
		r.chain = append(r.chain, filepath.Clean(join(vol, done, todo...)))
	}
	// Only a root directory ends here.
	r.keys = append(r.keys, join(vol, done))
	return r, nil
}

// split returns the non-empty components of a path.
func split(p string) []string {
	return strings.FieldsFunc(p, func(r rune) bool { return r < 0x80 && os.IsPathSeparator(uint8(r)) })
}

// join builds an absolute path from a volume name and components.
func join(vol string, dirs []string, more ...string) string {
	all := make([]string, 0, len(dirs)+len(more))
	all = append(all, dirs...)
	all = append(all, more...)
	return vol + string(filepath.Separator) + strings.Join(all, string(filepath.Separator))
}
