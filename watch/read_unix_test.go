//go:build unix

package watch

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A FIFO in the file's place is an error at once, not a hang.
func TestReadStableFIFO(t *testing.T) {
	path := filepath.Join(tempDir(t), "desired.yaml")
	must(t, syscall.Mkfifo(path, 0o644))
	_, err := ReadStable(path, time.Second)
	if err == nil || !strings.Contains(err.Error(), "is a named pipe, not a regular file") {
		t.Fatalf("error = %v, want a named pipe error", err)
	}
}
