package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/rddproject/rdd/confirm"
)

func (a *app) confirmCommand() *cobra.Command {
	var timeout, daemonWait time.Duration
	var noWait bool
	cmd := &cobra.Command{
		Use:   "confirm recreate [--timeout 5m] [--no-wait]",
		Short: "Allow a data-destroying change for the current desired file",
		Long: `Allow the daemon to make a change that destroys data, for the desired
file exactly as it is now. Today that is "recreate": the VM is deleted and
created again, and every container, image and volume inside it is lost
(a new vm.image or vm.type does that). Without this, or vm.recreate: allow
in the file, the daemon refuses such a change with the verdict failed,
reason NeedsConfirmation, and leaves the VM as it is.

The consent holds for the current content only (its digest is recorded in
HOME/run/confirm.yaml): any further edit needs a new confirmation. Run
rdd plan first to see what would change. Then rdd confirm waits for the
verdict like rdd set (same exit codes).`,
		Example: `  rdd plan                 # shows vm.image ... recreate
  rdd confirm recreate     # consent for this content; waits for ready`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] != confirm.Recreate {
				return withCode(ExitUsage, fmt.Errorf("rdd confirm %q: the only change that needs confirming is %q", args[0], confirm.Recreate))
			}
			h, err := a.home()
			if err != nil {
				return err
			}
			digest := fileDigest(h.Desired)
			if digest == "" {
				return withCode(ExitInvalid, fmt.Errorf("cannot read %s: there is nothing to confirm", h.Desired))
			}
			if err := os.MkdirAll(filepath.Dir(h.Confirm()), 0o700); err != nil {
				return fmt.Errorf("create %q: %w", filepath.Dir(h.Confirm()), err)
			}
			if err := confirm.Write(h.Confirm(), confirm.Recreate, digest, time.Now()); err != nil {
				return err
			}
			if isTerminal(a.stderr) {
				fmt.Fprintf(a.stderr, "rdd: confirmed recreate for %s (%s)\n", h.Desired, shortDigest(digest))
			}
			if noWait {
				return nil
			}
			if up, err := awaitDaemon(cmd.Context(), h, daemonWait); err != nil {
				return err
			} else if !up {
				return withCode(ExitNoDaemon, errors.New("no rdd daemon is running; the confirmation is recorded and applies when it starts"),
					"start it with `rdd daemon`")
			}
			return a.wait(cmd.Context(), h, waitSpec{digest: digest, timeout: timeout})
		},
	}
	fl := cmd.Flags()
	fl.DurationVar(&timeout, "timeout", 5*time.Minute, "give up waiting after this long (exit 4)")
	fl.BoolVar(&noWait, "no-wait", false, "return after recording the confirmation")
	fl.DurationVar(&daemonWait, "daemon-wait", defaultDaemonWait, "how long a daemon that is starting may take to answer before exit 5")
	return cmd
}
