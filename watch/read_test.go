package watch

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestReadStable(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, path string)
		// during changes the file in the middle of the given read.
		during  func(t *testing.T, path string, read int)
		maxWait time.Duration
		want    string
		wantErr error  // errors.Is
		errText string // or a part of the message
		// minReads: the reads it must have taken, as seen by during.
		minReads int
	}{
		{
			name:     "regular file",
			setup:    func(t *testing.T, path string) { write(t, path, "running: true\n") },
			want:     "running: true\n",
			minReads: 2,
		},
		{
			name:  "empty file",
			setup: func(t *testing.T, path string) { write(t, path, "") },
			want:  "",
		},
		{
			name: "symlink followed",
			setup: func(t *testing.T, path string) {
				write(t, path+".target", "running: true\n")
				must(t, os.Symlink(filepath.Base(path)+".target", path))
			},
			want: "running: true\n",
		},
		{
			name:    "missing",
			setup:   func(t *testing.T, path string) {},
			wantErr: fs.ErrNotExist,
		},
		{
			name:    "directory",
			setup:   func(t *testing.T, path string) { must(t, os.Mkdir(path, 0o755)) },
			errText: "is a directory, not a regular file",
		},
		{
			name:  "rewritten during the first read",
			setup: func(t *testing.T, path string) { write(t, path, "running: false\n") },
			during: func(t *testing.T, path string, read int) {
				if read == 1 {
					write(t, path, "running: true\ncpus: 4\n")
				}
			},
			maxWait:  time.Second,
			want:     "running: true\ncpus: 4\n",
			minReads: 3,
		},
		{
			name:  "same size rewritten during the first read",
			setup: func(t *testing.T, path string) { write(t, path, "cpus: 2\n") },
			during: func(t *testing.T, path string, read int) {
				if read == 1 {
					write(t, path, "cpus: 4\n")
				}
			},
			maxWait:  time.Second,
			want:     "cpus: 4\n",
			minReads: 3,
		},
		{
			name:  "truncated, then written",
			setup: func(t *testing.T, path string) { write(t, path, "running: false\n") },
			during: func(t *testing.T, path string, read int) {
				switch read {
				case 1:
					must(t, os.Truncate(path, 0))
				case 2:
					write(t, path, "running: true\n")
				}
			},
			maxWait:  time.Second,
			want:     "running: true\n",
			minReads: 4,
		},
		{
			name:  "renamed over during the first read",
			setup: func(t *testing.T, path string) { write(t, path, "running: false\n") },
			during: func(t *testing.T, path string, read int) {
				if read == 1 {
					write(t, path+".tmp", "running: true\n")
					must(t, os.Rename(path+".tmp", path))
				}
			},
			maxWait:  time.Second,
			want:     "running: true\n",
			minReads: 3,
		},
		{
			name:  "never settles",
			setup: func(t *testing.T, path string) { write(t, path, "n: 0\n") },
			during: func(t *testing.T, path string, read int) {
				write(t, path, strings.Repeat("n", read)+"\n")
			},
			maxWait: 20 * time.Millisecond,
			wantErr: ErrUnstable,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(tempDir(t), "desired.yaml")
			tt.setup(t, path)
			reads := 0
			during := func(read int) {
				reads = read
				if tt.during != nil {
					tt.during(t, path, read)
				}
			}
			got, err := readStable(path, tt.maxWait, during)
			switch {
			case tt.wantErr != nil || tt.errText != "":
				if err == nil {
					t.Fatalf("read %q, want an error", got)
				}
				if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
					t.Errorf("error = %v, want %v", err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.errText) {
					t.Errorf("error = %v, want it to contain %q", err, tt.errText)
				}
			case err != nil:
				t.Fatalf("error: %v", err)
			case string(got) != tt.want:
				t.Errorf("read %q, want %q", got, tt.want)
			}
			if reads < tt.minReads {
				t.Errorf("took %d reads, want at least %d", reads, tt.minReads)
			}
		})
	}
}
