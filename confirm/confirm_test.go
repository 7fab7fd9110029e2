package confirm

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestConfirmed(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "confirm.yaml")
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

	if ok, err := Confirmed(path, Recreate, "sha256:a"); ok || err != nil {
		t.Fatalf("missing file: %v %v, want false nil", ok, err)
	}
	if err := Write(path, Recreate, "sha256:a", now); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		what, digest string
		want         bool
	}{
		{Recreate, "sha256:a", true},
		{Recreate, "sha256:b", false}, // another content needs another consent
		{"other", "sha256:a", false},
		{Recreate, "", false},
	}
	for _, tt := range tests {
		ok, err := Confirmed(path, tt.what, tt.digest)
		if err != nil || ok != tt.want {
			t.Errorf("Confirmed(%q, %q) = %v, %v; want %v", tt.what, tt.digest, ok, err, tt.want)
		}
	}

	if err := os.WriteFile(path, []byte("digest: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if ok, err := Confirmed(path, Recreate, "sha256:a"); ok || err == nil {
		t.Errorf("malformed file: %v %v, want false and an error", ok, err)
	}

	link := filepath.Join(dir, "link.yaml")
	if err := Write(filepath.Join(dir, "real.yaml"), Recreate, "sha256:a", now); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "real.yaml"), link); err != nil {
		t.Fatal(err)
	}
	if ok, err := Confirmed(link, Recreate, "sha256:a"); ok || err == nil {
		t.Errorf("symlinked record: %v %v, want false and an error", ok, err)
	}
}
