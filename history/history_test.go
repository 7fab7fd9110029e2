package history

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rddproject/rdd/statusdir"
)

func TestStore(t *testing.T) {
	s := Open(filepath.Join(t.TempDir(), "run", "history"))
	if es, err := s.List(); err != nil || len(es) != 0 {
		t.Fatalf("empty store: %v %v", es, err)
	}
	if _, _, err := s.Get(1); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Get of a missing entry: %v", err)
	}
	if err := s.SetVerdict(1, "ready", "Settled", ""); err != nil {
		t.Fatalf("SetVerdict without an entry: %v", err)
	}
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 600, time.UTC)
	for g := int64(1); g <= Keep+5; g++ {
		data := []byte(fmt.Sprintf("# generation %d\nrunning: true\n", g))
		if err := s.Add(Entry{Generation: g, Digest: Digest(data), Time: t0}, map[string][]byte{"desired.yaml": data}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetVerdict(Keep+5, "failed", "ConnectFailed", "no engine\nsecond line"); err != nil {
		t.Fatal(err)
	}
	es, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != Keep || es[0].Generation != Keep+5 || es[Keep-1].Generation != 6 {
		t.Fatalf("List: %d entries, %d..%d", len(es), es[0].Generation, es[len(es)-1].Generation)
	}
	if e := es[0]; e.Verdict != "failed" || e.Reason != statusdir.EngineConnectFailed || e.Message != "no engine" || !e.Time.Equal(t0.Truncate(time.Second)) {
		t.Errorf("newest: %+v", e)
	}
	if es[1].Verdict != "" {
		t.Errorf("no verdict yet: %+v", es[1])
	}
	e, files, err := s.Get(7)
	if err != nil {
		t.Fatal(err)
	}
	if want := "# generation 7\nrunning: true\n"; string(files["desired.yaml"]) != want || e.Files[0].Digest != Digest([]byte(want)) {
		t.Errorf("Get(7): %+v %q", e, files)
	}
	if _, err := os.Stat(filepath.Join(s.Dir(), EntryName(5))); !os.IsNotExist(err) {
		t.Errorf("entry 5 not pruned: %v", err)
	}
	if fi, err := os.Stat(s.Dir()); err != nil || fi.Mode().Perm() != dirMode {
		t.Errorf("store mode: %v %v", fi.Mode(), err)
	}

	// Changed bytes are refused, not handed to a rollback.
	if err := os.WriteFile(filepath.Join(s.Dir(), EntryName(7), "desired.yaml"), []byte("running: false\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Get(7); err == nil {
		t.Error("Get of an entry whose bytes changed: no error")
	}
	// A link planted as a stored file is not followed.
	p := filepath.Join(s.Dir(), EntryName(8), "desired.yaml")
	os.Remove(p)
	if err := os.Symlink(filepath.Join(s.Dir(), EntryName(9), "desired.yaml"), p); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Get(8); err == nil {
		t.Error("Get through a planted link: no error")
	}
	// Files of several paths (fragments) fit an entry; bad paths do not.
	if err := s.Add(Entry{Generation: 100}, map[string][]byte{"desired.yaml": nil, "desired.d/10-x.yaml": []byte("a: 1\n")}); err != nil {
		t.Fatal(err)
	}
	if _, files, err := s.Get(100); err != nil || string(files["desired.d/10-x.yaml"]) != "a: 1\n" {
		t.Errorf("Get(100): %q %v", files, err)
	}
	for _, bad := range []string{"../x", "/abs", MetaFile, ".hidden", "a/./b"} {
		if err := s.Add(Entry{Generation: 101}, map[string][]byte{bad: nil}); err == nil {
			t.Errorf("Add with file %q: no error", bad)
		}
	}
}
