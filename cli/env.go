package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rddproject/rdd/dockerctx"
	"github.com/rddproject/rdd/home"
	"github.com/rddproject/rdd/pidlock"
	"github.com/rddproject/rdd/reconciler/host"
	"github.com/rddproject/rdd/schema"
	"github.com/rddproject/rdd/statusdir"
)

func (a *app) envCommand() *cobra.Command {
	var shell string
	cmd := &cobra.Command{
		Use:   "env [--shell sh|fish]",
		Short: "Print the DOCKER_HOST and DOCKER_CONTEXT lines for eval",
		Long: `Print shell lines setting DOCKER_HOST to the engine socket and
DOCKER_CONTEXT to the docker context the daemon keeps, for
eval "$(rdd env)". The socket is the one the daemon uses (status/app.yaml)
while it runs, else the one the desired state names: no daemon is needed.
DOCKER_HOST wins over DOCKER_CONTEXT in the docker CLI; both are printed so
that tools reading only one of them find the engine.`,
		Example: `  eval "$(rdd env)"; docker ps
  rdd env --shell fish | source`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if shell != "sh" && shell != "fish" {
				return withCode(ExitUsage, fmt.Errorf("--shell %q: want sh or fish", shell))
			}
			h, err := a.home()
			if err != nil {
				return err
			}
			d, err := desiredOrDefaults(h)
			if err != nil {
				return err
			}
			socket := engineSocket(h, d)
			set := func(k, v string) {
				if shell == "fish" {
					fmt.Fprintf(a.stdout, "set -gx %s %s;\n", k, shellQuote(shell, v))
				} else {
					fmt.Fprintf(a.stdout, "export %s=%s\n", k, shellQuote(shell, v))
				}
			}
			set("DOCKER_HOST", dockerctx.Host(socket))
			if name := dockerctx.Name(d); name != "" {
				set("DOCKER_CONTEXT", name)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&shell, "shell", "sh", "sh (also bash, zsh) or fish")
	return cmd
}

// desiredOrDefaults is the desired state with defaults applied, or the
// defaults when there is no desired file.
func desiredOrDefaults(h home.Home) (*schema.Desired, error) {
	d, _, err := schema.Default().Load(h.Desired)
	if err == nil {
		return d, nil
	}
	if !errors.Is(statErr(h.Desired), fs.ErrNotExist) {
		return nil, withCode(ExitInvalid, err, invalidHint)
	}
	return schema.Default().Defaults(), nil
}

// engineSocket is the engine socket on the host: the one a running daemon
// reports, else the one d names. Both drivers read containerEngine.socket
// by the same rule (unix:// dropped, ~ expanded, relative to RDD_HOME);
// when it is empty, host uses DOCKER_HOST or /var/run/docker.sock and lima
// the home's docker.sock.
func engineSocket(h home.Home, d *schema.Desired) string {
	if running, _, err := pidlock.Held(h.Lock()); err == nil && running {
		if app, err := statusdir.ReadApp(h.Status()); err == nil && app.Engine.Socket != "" {
			return app.Engine.Socket
		}
	}
	if d.VM.Driver == "host" || d.ContainerEngine.Socket != "" {
		return (&host.Driver{Home: h.Dir}).Socket(d)
	}
	return h.Socket()
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_./:@%+=,-]+$`)

// shellQuote quotes s, when it needs quoting, for sh or fish (fish
// escapes a quote inside single quotes; sh ends and reopens them).
func shellQuote(shell, s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	if shell == "fish" {
		return "'" + strings.NewReplacer(`\`, `\\`, "'", `\'`).Replace(s) + "'"
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
