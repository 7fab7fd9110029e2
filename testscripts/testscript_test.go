package testscripts

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/rddproject/rdd/cli"
	"github.com/rddproject/rdd/testscripts/limactl/double"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"rdd":     func() { os.Exit(cli.Main()) },
		"limactl": func() { os.Exit(double.Main(os.Args[1:])) },
	})
}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		UpdateScripts:       os.Getenv("RDD_UPDATE_GOLDEN") != "",
		Cmds:                commands,
		Setup: func(env *testscript.Env) error {
			// A private home per script: ~/.rd resolves inside $WORK.
			home := filepath.Join(env.WorkDir, "home")
			env.Setenv("HOME", home)
			env.Setenv("RDD_HOME", "")
			env.Setenv("RDD_DESIRED", "")
			return os.MkdirAll(home, 0o755)
		},
	})
}
