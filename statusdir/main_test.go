package statusdir

import (
	"os"
	"testing"
)

// TestMain runs the child process of TestWritePassCrash when asked to.
func TestMain(m *testing.M) {
	if os.Getenv(crashDirEnv) != "" {
		crashChild()
	}
	os.Exit(m.Run())
}
