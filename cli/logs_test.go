package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTailOffset(t *testing.T) {
	long := strings.Repeat("x", 100<<10) // lines longer than one read
	for _, tc := range []struct {
		name, data string
		n          int
		want       string
	}{
		{"empty", "", 3, ""},
		{"fewer lines than asked", "a\nb\n", 5, "a\nb\n"},
		{"last two", "a\nb\nc\n", 2, "b\nc\n"},
		{"an unfinished last line counts", "a\nb\nc", 2, "b\nc"},
		{"none", "a\nb\n", 0, ""},
		{"across chunks", "first\n" + long + "\n" + long + "\nend\n", 2, long + "\nend\n"},
		{"blank lines count", "a\n\n\n", 2, "\n\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "log")
			if err := os.WriteFile(path, []byte(tc.data), 0o600); err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			off, err := tailOffset(f, int64(len(tc.data)), tc.n)
			if err != nil {
				t.Fatal(err)
			}
			if got := tc.data[off:]; got != tc.want {
				t.Errorf("last %d lines = %.40q, want %.40q", tc.n, got, tc.want)
			}
		})
	}
}
