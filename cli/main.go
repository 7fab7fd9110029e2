package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rddproject/rdd/home"
	"github.com/rddproject/rdd/schema"
)

// Exit codes shared by every command.
const (
	ExitOK          = 0
	ExitFailed      = 1
	ExitUsage       = 2
	ExitInvalid     = 3
	ExitTimeout     = 4
	ExitNoDaemon    = 5
	exitInterrupted = 130
)

// Version is the rdd version, set at build time with
// -ldflags "-X github.com/rddproject/rdd/cli.Version=v0.1.0".
var Version = "v0.1.0-dev"

// exitError carries an exit code and hint lines out of a command.
type exitError struct {
	code  int
	err   error
	hints []string
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func withCode(code int, err error, hints ...string) error {
	return &exitError{code: code, err: err, hints: hints}
}

// app is the state shared by the subcommands of one invocation.
type app struct {
	stdout, stderr io.Writer
	homeFlag       string
	desiredFlag    string
	// readyGeneration is the generation of the ready marker the last
	// successful wait saw.
	readyGeneration int64
}

func (a *app) home() (home.Home, error) {
	h, err := home.Resolve(a.homeFlag, a.desiredFlag)
	if err != nil {
		return home.Home{}, withCode(ExitUsage, err)
	}
	return h, nil
}

// Main runs rdd with os.Args and returns the process exit code.
func Main() int {
	return Run(os.Args[1:], os.Stdout, os.Stderr)
}

// Run runs rdd with args, writing to stdout and stderr, and returns the exit
// code.
func Run(args []string, stdout, stderr io.Writer) int {
	a := &app{stdout: stdout, stderr: stderr}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return ExitOK
	}
	return a.report(err)
}

// report prints err the way every command does and returns its exit code.
func (a *app) report(err error) int {
	code := ExitFailed
	var hints []string
	var ee *exitError
	if errors.As(err, &ee) {
		code, hints = ee.code, ee.hints
	} else if isUsage(err) {
		code = ExitUsage
		hints = []string{"run `rdd --help` for usage"}
	}
	if es := schema.AsErrors(err); es != nil {
		for _, e := range es {
			fmt.Fprintln(a.stderr, e)
		}
		file := es[0].File
		n := len(es)
		noun := "problem"
		if n > 1 {
			noun = "problems"
		}
		fmt.Fprintf(a.stderr, "rdd: error: %s: %d %s\n", file, n, noun)
	} else {
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(a.stderr, "rdd: error: %s\n", line)
		}
	}
	for _, h := range hints {
		fmt.Fprintf(a.stderr, "rdd: hint: %s\n", h)
	}
	return code
}

// usageError marks errors from argument parsing.
type usageError struct{ error }

func isUsage(err error) bool {
	var ue usageError
	// cobra reports an unknown subcommand as a plain error.
	return errors.As(err, &ue) || strings.HasPrefix(err.Error(), "unknown command ")
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "rdd",
		Short: "Run a local container engine from one declarative file",
		Long: `rdd keeps a local container engine (a Lima VM and its dockerd) in the
state described by ~/.rd/desired.yaml, and writes what it observes under
~/.rd/status/, with a ready or failed marker scripts can test with [ -e ].`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	pf := root.PersistentFlags()
	pf.StringVar(&a.homeFlag, "home", "", "rdd home directory (default $RDD_HOME or ~/.rd)")
	pf.StringVar(&a.desiredFlag, "desired", "", "desired state file (default $RDD_DESIRED or HOME/desired.yaml)")
	root.AddCommand(
		a.validateCommand(),
		a.schemaCommand(),
		a.initCommand(),
		a.getCommand(),
		a.versionCommand(),
		a.daemonCommand(),
		a.statusCommand(),
		a.waitCommand(),
		a.setCommand(),
		a.psCommand(),
		a.imagesCommand(),
		a.volumesCommand(),
		a.envCommand(),
		a.serviceCommand(),
		a.logsCommand(),
		a.planCommand(),
		a.confirmCommand(),
		a.eventsCommand(),
		a.historyCommand(),
		a.diffCommand(),
		a.rollbackCommand(),
	)
	// The completion command takes its output when it is made.
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	addExamples(root)
	for _, c := range root.Commands() {
		c.Args = wrapArgs(c.Args)
	}
	return root
}

// wrapArgs makes cobra's argument-count errors usage errors (exit 2).
func wrapArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	if check == nil {
		return nil
	}
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}
