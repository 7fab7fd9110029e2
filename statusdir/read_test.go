package statusdir

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rddproject/rdd/atomicfile"
)

func sampleApp() App {
	t0 := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	a := App{
		Daemon:             DaemonInfo{PID: 4242, Version: "v0.1.0"},
		Desired:            DesiredRef{Path: "/u/.rd/desired.yaml", Digest: "sha256:ab", Generation: 12},
		Applied:            AppliedRef{Digest: "sha256:aa", Generation: 11},
		ObservedGeneration: 12,
		Summary:            SummaryInProgress,
		VM:                 VMStatus{Driver: "lima", Instance: "rd", Status: "Running", CPUs: 2, Memory: "4GiB", Disk: "100GiB", Type: "qemu"},
		Engine:             EngineStatus{Name: "moby", Socket: "/u/.rd/docker.sock", Version: "28.5.2", APIVersion: "1.51"},
	}
	a.Conditions = SetCondition(a.Conditions, Condition{Type: "Valid", Status: True, Reason: "Valid", ObservedGeneration: 12}, t0)
	a.Conditions = SetCondition(a.Conditions, Condition{Type: "Running", Status: False, Reason: "Starting", Message: "yes: no\n\"quoted\""}, t0)
	return a
}

func TestReadApp(t *testing.T) {
	d := openDir(t)
	want := sampleApp()
	if _, err := d.WriteYAML(AppFile, want); err != nil {
		t.Fatal(err)
	}
	got, err := ReadApp(d.Root())
	if err != nil {
		t.Fatal(err)
	}
	a, _ := Marshal(want)
	b, _ := Marshal(got)
	if !bytes.Equal(a, b) {
		t.Fatalf("read back:\n%s\nwant:\n%s", b, a)
	}
}

func TestReadErrors(t *testing.T) {
	tests := []struct {
		name     string
		content  *string // nil: missing
		wantMiss bool
		wantErr  string
	}{
		{name: "missing", wantMiss: true},
		{name: "empty", content: ptr(""), wantErr: "empty file"},
		{name: "blank", content: ptr("\n  \n"), wantErr: "empty file"},
		{name: "null", content: ptr("null\n"), wantErr: "not a YAML mapping"},
		{name: "comment only", content: ptr("# nothing\n"), wantErr: "not a YAML mapping"},
		{name: "list", content: ptr("- 1\n"), wantErr: "not a YAML mapping"},
		{name: "garbage", content: ptr("daemon: [\n"), wantErr: "parse status file"},
		{name: "wrong type", content: ptr("observedGeneration: many\ntime: many\n"), wantErr: "parse status file"},
		{name: "too large", content: ptr("summary: " + strings.Repeat("x", MaxFileSize) + "\n"), wantErr: "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			for _, name := range []string{AppFile, ReadyMarker, FailedMarker} {
				if tt.content != nil {
					mustWrite(t, filepath.Join(root, name), *tt.content)
				}
			}
			_, errApp := ReadApp(root)
			_, errReady := ReadMarker(root, ReadyMarker)
			_, errFailed := ReadMarker(root, FailedMarker)
			for _, err := range []error{errApp, errReady, errFailed} {
				if err == nil {
					t.Fatal("no error")
				}
				if errors.Is(err, fs.ErrNotExist) != tt.wantMiss {
					t.Fatalf("%v: errors.Is(err, fs.ErrNotExist) = %v, want %v", err, !tt.wantMiss, tt.wantMiss)
				}
				if !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), root) {
					t.Fatalf("error %q does not name the file or say %q", err, tt.wantErr)
				}
			}
			snap, err := ReadSnapshot(root)
			if tt.wantMiss {
				if err != nil || snap != (Snapshot{}) {
					t.Fatalf("ReadSnapshot = %+v, %v; want an empty snapshot", snap, err)
				}
			} else if err == nil {
				t.Fatal("ReadSnapshot of a bad file succeeded")
			}
		})
	}
}

func TestReadSnapshot(t *testing.T) {
	// A missing root is an empty snapshot: the daemon has not started yet.
	snap, err := ReadSnapshot(filepath.Join(t.TempDir(), "nothing", "status"))
	if err != nil || snap != (Snapshot{}) {
		t.Fatalf("ReadSnapshot of a missing root = %+v, %v", snap, err)
	}
	d := openDir(t)
	m := Marker{Digest: "sha256:1", Generation: 1, Reason: "Settled", Time: oldTime}
	if _, err := d.WriteYAML(AppFile, sampleApp()); err != nil {
		t.Fatal(err)
	}
	if _, err := d.SetVerdict(FailedMarker, m); err != nil {
		t.Fatal(err)
	}
	snap, err = ReadSnapshot(d.Root())
	if err != nil {
		t.Fatal(err)
	}
	if snap.App == nil || snap.App.ObservedGeneration != 12 || snap.Ready != nil || snap.Failed == nil || *snap.Failed != m {
		t.Fatalf("ReadSnapshot = %+v", snap)
	}
	if _, err := ReadMarker(d.Root(), AppFile); err == nil {
		t.Fatal("ReadMarker(app.yaml) succeeded")
	}
	if _, err := ReadMarker(d.Root(), "../x"); err == nil {
		t.Fatal("ReadMarker(../x) succeeded")
	}
}

func TestReadNotRegular(t *testing.T) {
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, AppFile), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadApp(root); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("ReadApp of a directory: %v", err)
	}
}

func TestReadObjects(t *testing.T) {
	d := openDir(t)
	long := strings.Repeat("L", 300)
	objs := map[string][]byte{"web": []byte("name: web\n"), "Db": []byte("name: Db\n"), long: []byte("name: " + long + "\n")}
	if _, err := d.syncObjects(ContainersDir, objs); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(d.Root(), ContainersDir)
	mustWrite(t, filepath.Join(dir, atomicfile.TempPrefix+"web.yaml-1"), "torn")
	mustWrite(t, filepath.Join(dir, "notes.txt"), "x")
	mustWrite(t, filepath.Join(dir, "BAD.yaml"), "x")
	got, err := ReadObjects(d.Root(), ContainersDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("ReadObjects gave %d objects: %+v", len(got), got)
	}
	// Sorted by file name: "^db.yaml", "^l^l...~hash.yaml", "web.yaml". The
	// truncated name has no decoded name; its file holds it.
	want := []struct{ key, name string }{{"Db", "Db"}, {long, ""}, {"web", "web"}}
	for i, o := range got {
		if o.Name != want[i].name || o.File != ObjectFile(want[i].key) || !bytes.Equal(o.Data, objs[want[i].key]) {
			t.Errorf("object %d = %q %q %q, want %q", i, o.File, o.Name, o.Data, want[i].name)
		}
	}
	if _, err := ReadObjects(d.Root(), VolumesDir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("ReadObjects of a missing directory: %v", err)
	}
}

// One file larger than MaxFileSize (a hostile container's labels, written
// by an older writer) is reported on its own; the others are read.
func TestReadObjectsSkipsBadFile(t *testing.T) {
	d := openDir(t)
	if _, err := d.syncObjects(ContainersDir, map[string][]byte{"a": []byte("name: a\n"), "c": []byte("name: c\n")}); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(d.Root(), ContainersDir, "b.yaml"), "name: b\nx: "+strings.Repeat("x", MaxFileSize)+"\n")
	got, err := ReadObjects(d.Root(), ContainersDir)
	if err != nil {
		t.Fatalf("one bad file fails the listing: %v", err)
	}
	if len(got) != 3 || got[0].Name != "a" || got[2].Name != "c" || got[0].Err != nil || got[2].Err != nil {
		t.Fatalf("ReadObjects = %+v", got)
	}
	if got[1].Name != "b" || got[1].Data != nil || got[1].Err == nil || !strings.Contains(got[1].Err.Error(), "larger than") {
		t.Errorf("the bad file is %+v, want its error", got[1])
	}
}
