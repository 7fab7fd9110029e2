//go:build unix

package statusdir

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A FIFO planted in status/ must neither hang the writer, which would wait
// to read it, nor the reader.
func TestFIFO(t *testing.T) {
	d := openDir(t)
	for _, rel := range []string{AppFile, ReadyMarker, ContainersDir + "/web.yaml"} {
		p := filepath.Join(d.Root(), filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			t.Skipf("mkfifo: %v", err)
		}
	}
	if _, err := ReadApp(d.Root()); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("ReadApp of a FIFO: %v", err)
	}
	if _, err := ReadSnapshot(d.Root()); err == nil {
		t.Fatal("ReadSnapshot of FIFOs succeeded")
	}
	must(t)(d.WriteYAML(AppFile, appAt(1)))
	must(t)(d.SetVerdict(ReadyMarker, Marker{Digest: "sha256:1"}))
	if n, err := d.syncObjects(ContainersDir, map[string][]byte{"web": []byte("x")}); err != nil || n != 1 {
		t.Fatalf("syncObjects over a FIFO = %d, %v", n, err)
	}
	if n, err := d.syncObjects(ContainersDir, map[string][]byte{"web": nil}); err != nil || n != 0 {
		t.Fatalf("second syncObjects = %d, %v", n, err)
	}
	snap, err := ReadSnapshot(d.Root())
	if err != nil || snap.App == nil || snap.Ready == nil {
		t.Fatalf("ReadSnapshot = %+v, %v", snap, err)
	}
}

// Files are 0600 whatever the umask.
func TestUmask(t *testing.T) {
	old := syscall.Umask(0o277)
	defer syscall.Umask(old)
	d := openDir(t)
	must(t)(d.WriteFile(ContainersDir+"/web.yaml", []byte("x")))
	checkMode(t, filepath.Join(d.Root(), ContainersDir, "web.yaml"), fileMode)
	if changed, err := d.WriteFile(ContainersDir+"/web.yaml", []byte("x")); err != nil || changed {
		t.Fatalf("unchanged write under umask 0277 = %v, %v", changed, err)
	}
}
