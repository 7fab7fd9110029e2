package watch

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

func TestResolve(t *testing.T) {
	tests := []struct {
		name string
		// setup builds files under dir and returns the path to resolve
		// and the chain expected, relative to dir.
		setup func(t *testing.T, dir string) (path string, want []string)
	}{
		{
			name: "regular file",
			setup: func(t *testing.T, dir string) (string, []string) {
				write(t, filepath.Join(dir, "desired.yaml"), "")
				return "desired.yaml", []string{"desired.yaml"}
			},
		},
		{
			name: "missing file",
			setup: func(t *testing.T, dir string) (string, []string) {
				return "no/such/desired.yaml", []string{"no/such/desired.yaml"}
			},
		},
		{
			name: "relative symlink",
			setup: func(t *testing.T, dir string) (string, []string) {
				write(t, filepath.Join(dir, "dotfiles", "desired.yaml"), "")
				must(t, os.MkdirAll(filepath.Join(dir, "home"), 0o755))
				must(t, os.Symlink("../dotfiles/desired.yaml", filepath.Join(dir, "home", "desired.yaml")))
				return "home/desired.yaml", []string{"home/desired.yaml", "dotfiles/desired.yaml"}
			},
		},
		{
			name: "chain of absolute symlinks",
			setup: func(t *testing.T, dir string) (string, []string) {
				write(t, filepath.Join(dir, "store", "desired.yaml"), "")
				must(t, os.Symlink(filepath.Join(dir, "store", "desired.yaml"), filepath.Join(dir, "mid.yaml")))
				must(t, os.Symlink(filepath.Join(dir, "mid.yaml"), filepath.Join(dir, "desired.yaml")))
				return "desired.yaml", []string{"desired.yaml", "mid.yaml", "store/desired.yaml"}
			},
		},
		{
			name: "dangling symlink",
			setup: func(t *testing.T, dir string) (string, []string) {
				must(t, os.Symlink("gone/desired.yaml", filepath.Join(dir, "desired.yaml")))
				return "desired.yaml", []string{"desired.yaml", "gone/desired.yaml"}
			},
		},
		{
			name: "symlinked directory",
			setup: func(t *testing.T, dir string) (string, []string) {
				write(t, filepath.Join(dir, "dot", "rd", "desired.yaml"), "")
				must(t, os.Symlink("dot/rd", filepath.Join(dir, ".rd")))
				return ".rd/desired.yaml", []string{".rd/desired.yaml", "dot/rd/desired.yaml"}
			},
		},
		{
			name: "dotdot after a symlinked directory",
			setup: func(t *testing.T, dir string) (string, []string) {
				// The kernel resolves deep/link first, then "..": the
				// file is in a/, not beside the link.
				write(t, filepath.Join(dir, "a", "b", "x"), "")
				write(t, filepath.Join(dir, "a", "desired.yaml"), "")
				must(t, os.MkdirAll(filepath.Join(dir, "deep"), 0o755))
				must(t, os.Symlink(filepath.Join(dir, "a", "b"), filepath.Join(dir, "deep", "link")))
				must(t, os.Symlink("deep/link/../desired.yaml", filepath.Join(dir, "desired.yaml")))
				return "desired.yaml", []string{"desired.yaml", "deep/desired.yaml", "a/desired.yaml"}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := tempDir(t)
			path, rel := tt.setup(t, dir)
			var want []string
			for _, r := range rel {
				want = append(want, filepath.Join(dir, r))
			}
			got, err := Resolve(filepath.Join(dir, path))
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if !slices.Equal(got, want) {
				t.Errorf("Resolve =\n\t%q\nwant\n\t%q", got, want)
			}
		})
	}
}

// The second element of the "dotdot" case is the lexical rendering of
// deep/link/../desired.yaml; what matters is that the last one is the real
// file, which the kernel agrees with.
func TestResolveLastIsReal(t *testing.T) {
	dir := tempDir(t)
	write(t, filepath.Join(dir, "a", "b", "x"), "")
	write(t, filepath.Join(dir, "a", "desired.yaml"), "a")
	must(t, os.MkdirAll(filepath.Join(dir, "deep"), 0o755))
	must(t, os.Symlink(filepath.Join(dir, "a", "b"), filepath.Join(dir, "deep", "link")))
	must(t, os.Symlink("deep/link/../desired.yaml", filepath.Join(dir, "desired.yaml")))
	chain, err := Resolve(filepath.Join(dir, "desired.yaml"))
	must(t, err)
	real, err := filepath.EvalSymlinks(filepath.Join(dir, "desired.yaml"))
	must(t, err)
	if last := chain[len(chain)-1]; last != real {
		t.Errorf("last of chain = %q, EvalSymlinks = %q", last, real)
	}
}

func TestResolveRelative(t *testing.T) {
	dir := tempDir(t)
	write(t, filepath.Join(dir, "desired.yaml"), "")
	t.Chdir(dir)
	got, err := Resolve("desired.yaml")
	must(t, err)
	if want := []string{filepath.Join(dir, "desired.yaml")}; !slices.Equal(got, want) {
		t.Errorf("Resolve = %q, want %q", got, want)
	}
}

func TestResolveLoop(t *testing.T) {
	tests := []struct {
		name  string
		links map[string]string // link name -> target, under dir
	}{
		{"self", map[string]string{"desired.yaml": "desired.yaml"}},
		{"two links", map[string]string{"desired.yaml": "other.yaml", "other.yaml": "desired.yaml"}},
		{"three links", map[string]string{"desired.yaml": "a", "a": "b", "b": "desired.yaml"}},
		{"directory into itself", map[string]string{"d": "d/sub", "desired.yaml": "d/desired.yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := tempDir(t)
			for link, target := range tt.links {
				must(t, os.Symlink(target, filepath.Join(dir, link)))
			}
			path := filepath.Join(dir, "desired.yaml")
			chain, err := Resolve(path)
			if !errors.Is(err, syscall.ELOOP) {
				t.Fatalf("Resolve = %q, %v; want an ELOOP error", chain, err)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name %q", err, path)
			}
			if len(chain) == 0 || chain[0] != path || len(chain) > maxHops+1 {
				t.Errorf("chain = %q", chain)
			}
		})
	}
}

func TestResolveEmpty(t *testing.T) {
	if _, err := Resolve(""); err == nil {
		t.Error(`Resolve("") succeeded`)
	}
}
