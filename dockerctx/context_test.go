package dockerctx

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rddproject/rdd/schema"
)

// The bytes `docker context create rdd --description rdd --docker
// host=unix:///var/run/docker.sock` writes (docker CLI 28), at the path it
// writes them.
const dockerCLIMeta = `{"Name":"rdd","Metadata":{"Description":"rdd"},"Endpoints":{"docker":{"Host":"unix:///var/run/docker.sock","SkipTLSVerify":false}}}`

func TestRenderMatchesTheDockerCLI(t *testing.T) {
	got, err := Render("rdd", "/var/run/docker.sock")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != dockerCLIMeta {
		t.Errorf("Render:\n got %s\nwant %s", got, dockerCLIMeta)
	}
	want := filepath.Join("cfg", "contexts", "meta", "5be7b5aae81f9cb2b49989b08b04dcd3ed87b22c39801469b11427cb5da04753", "meta.json")
	if p := MetaPath("cfg", "rdd"); p != want {
		t.Errorf("MetaPath = %s, want %s", p, want)
	}
}

func TestCheckName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"rdd", true}, {"rdd-2.work_x+y", true}, {"default", false}, {"", false},
		{"r", false}, {"-rdd", false}, {"a/b", false}, {"../x", false}, {"a b", false},
	} {
		if err := CheckName(tc.name); (err == nil) != tc.ok {
			t.Errorf("CheckName(%q) = %v, want ok=%t", tc.name, err, tc.ok)
		}
	}
}

func TestWriteOnlyWhenChangedAndNothingElse(t *testing.T) {
	dir := t.TempDir()
	// The user's own files: a config choosing another context, and that
	// context. Neither may change.
	config := filepath.Join(dir, "config.json")
	mustWrite(t, config, `{"currentContext":"work"}`)
	work := MetaPath(dir, "work")
	mustWrite(t, work, `{"Name":"work","Metadata":{},"Endpoints":{"docker":{"Host":"tcp://10.0.0.1:2376","SkipTLSVerify":false}}}`)

	changed, err := Write(dir, "rdd", "/run/a.sock")
	if err != nil || !changed {
		t.Fatalf("first Write = %t, %v; want a write", changed, err)
	}
	path := MetaPath(dir, "rdd")
	before, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	changed, err = Write(dir, "rdd", "/run/a.sock")
	if err != nil || changed {
		t.Fatalf("second Write = %t, %v; want no write", changed, err)
	}
	after, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) || !before.ModTime().Equal(after.ModTime()) {
		t.Error("an unchanged context was rewritten")
	}
	if host, err := Read(dir, "rdd"); err != nil || host != "unix:///run/a.sock" {
		t.Errorf("Read = %q, %v", host, err)
	}
	// A new socket rewrites it.
	if changed, err := Write(dir, "rdd", "unix:///run/b.sock"); err != nil || !changed {
		t.Fatalf("Write of a new socket = %t, %v", changed, err)
	}
	if host, _ := Read(dir, "rdd"); host != "unix:///run/b.sock" {
		t.Errorf("Read after the change = %q", host)
	}
	assertFile(t, config, `{"currentContext":"work"}`)
	if host, _ := Read(dir, "work"); host != "tcp://10.0.0.1:2376" {
		t.Errorf("the user's context changed: %q", host)
	}
	// No temporary file is left behind.
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("context directory holds %d entries, want only meta.json", len(entries))
	}
}

func TestKeeperReportsAFailure(t *testing.T) {
	dir := t.TempDir()
	// A file where the contexts directory should be: every write fails.
	mustWrite(t, filepath.Join(dir, "contexts"), "not a directory")
	k := &Keeper{ConfigDir: dir}
	d := schema.Default().Defaults() // dockerContext defaults to "rdd"
	err := k.Keep(d, "/run/x.sock")
	if err == nil || !strings.Contains(err.Error(), `docker context "rdd" not written`) {
		t.Fatalf("Keep = %v, want a failure naming the context", err)
	}
	if err := (&Keeper{ConfigDir: t.TempDir()}).Keep(d, ""); err != nil {
		t.Errorf("Keep without a socket = %v, want nothing done", err)
	}
}

func TestConfigDir(t *testing.T) {
	env := map[string]string{"DOCKER_CONFIG": "/etc/docker-cfg"}
	if d, err := ConfigDir(func(k string) string { return env[k] }); err != nil || d != "/etc/docker-cfg" {
		t.Errorf("ConfigDir with DOCKER_CONFIG = %q, %v", d, err)
	}
	t.Setenv("HOME", "/home/u")
	if d, err := ConfigDir(func(string) string { return "" }); err != nil || d != "/home/u/.docker" {
		t.Errorf("ConfigDir = %q, %v", d, err)
	}
}

func mustWrite(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func assertFile(t *testing.T, path, want string) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil || string(got) != want {
		t.Errorf("%s = %q, %v; want %q", path, got, err, want)
	}
}
