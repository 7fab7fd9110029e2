package cli

import (
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/rddproject/rdd/schema"
)

func (a *app) rollbackCommand() *cobra.Command {
	var timeout, daemonWait time.Duration
	var noWait bool
	cmd := &cobra.Command{
		Use:   "rollback GEN [--no-wait] [--timeout 5m]",
		Short: "Write an applied generation's content back into the desired file and wait",
		Long: `Write the desired content applied at generation GEN (see rdd history) back
into the desired file, byte for byte, the way rdd set writes: validated
first, under the file's lock, atomically; a desired file that is a symlink
is written at its target, and the link is kept. Then wait for the daemon's
verdict on that content, exactly like rdd set.

When the file is tracked in a git work tree, a hint says that it now
differs from the committed version: commit it, or check it out to undo.

Exit codes: 0 ready, 1 failed (with the reason; also for a generation no
longer in history), 2 usage, 3 invalid (history holds only valid content,
but the schema of this rdd may have changed), 4 timed out, 5 no daemon
running (the file has been written all the same).`,
		Example: `  rdd history              # find the generation that worked
  rdd rollback 12
  rdd rollback 12 --no-wait`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			gen, err := parseGeneration(args[0])
			if err != nil {
				return err
			}
			h, err := a.home()
			if err != nil {
				return err
			}
			_, content, err := historyContent(h, gen)
			if err != nil {
				return err
			}
			if _, err := schema.Default().Parse(h.Desired, content); err != nil {
				return withCode(ExitInvalid, err, fmt.Sprintf("nothing was written; generation %d does not validate with this rdd's schema", gen))
			}
			target, err := desiredTarget(h.Desired)
			if err != nil {
				return err
			}
			data, changed, err := writeDesired(h.Desired, target, func([]byte) ([]byte, error) { return content, nil })
			if err != nil {
				return err
			}
			if changed {
				a.gitHint(target)
			}
			return a.waitWritten(cmd.Context(), h, target, data, changed, noWait, timeout, daemonWait)
		},
	}
	fl := cmd.Flags()
	fl.DurationVar(&timeout, "timeout", 5*time.Minute, "give up waiting after this long (exit 4)")
	fl.DurationVar(&daemonWait, "daemon-wait", defaultDaemonWait, "how long a daemon that is starting may take to answer before exit 5")
	fl.BoolVar(&noWait, "no-wait", false, "return after writing the file, without waiting for the verdict")
	return cmd
}

// gitHint says so when target is tracked in a git work tree and now
// differs from what is committed there. Without git, or outside a work
// tree, it says nothing.
func (a *app) gitHint(target string) {
	git, err := exec.LookPath("git")
	if err != nil {
		return
	}
	dir, base := filepath.Split(target)
	if err := exec.Command(git, "-C", dir, "ls-files", "--error-unmatch", "--", base).Run(); err != nil {
		return // not in a work tree, or not tracked
	}
	err = exec.Command(git, "-C", dir, "diff", "--quiet", "HEAD", "--", base).Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 1 {
		fmt.Fprintf(a.stderr, "rdd: hint: %s now differs from the committed version in git: commit it, or `git -C %s checkout -- %s` to go back\n",
			target, filepath.Clean(dir), base)
	}
}
