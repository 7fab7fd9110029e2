package cli

import "os"

// statErr reports whether path can be stat'ed (following symlinks).
func statErr(path string) error {
	_, err := os.Stat(path)
	return err
}
