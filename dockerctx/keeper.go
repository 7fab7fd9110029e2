package dockerctx

import (
	"fmt"
	"log/slog"

	"github.com/rddproject/rdd/schema"
)

// DefaultName is the context rdd keeps when the desired state names none.
const DefaultName = "rdd"

// Name is the docker context the desired state asks for
// (containerEngine.dockerContext, default "rdd"); "" means none.
func Name(d *schema.Desired) string {
	if d == nil {
		return DefaultName
	}
	return d.ContainerEngine.DockerContext
}

// Keeper keeps the docker context in step with the engine socket: the
// daemon's loop calls Keep once per pass while the socket is known. It is
// used by the loop's goroutine only.
type Keeper struct {
	ConfigDir string       // the docker CLI's configuration directory (ConfigDir)
	Logger    *slog.Logger // default slog.Default()

	lastErr string // the last failure logged, so a lasting one is logged once
}

// Keep writes the context named by d (nothing when it names none) pointing
// at socket. A failure is returned for the status and logged once; it is
// never fatal: the engine works without its context.
func (k *Keeper) Keep(d *schema.Desired, socket string) error {
	name := Name(d)
	if name == "" || socket == "" {
		return nil
	}
	log := k.Logger
	if log == nil {
		log = slog.Default()
	}
	changed, err := Write(k.ConfigDir, name, socket)
	if err != nil {
		if msg := err.Error(); msg != k.lastErr {
			k.lastErr = msg
			log.Warn("docker context not written", "context", name, "err", err)
		}
		return fmt.Errorf("docker context %q not written (docker --context %s will not reach the engine): %w", name, name, err)
	}
	if k.lastErr != "" {
		k.lastErr = ""
		log.Info("docker context written again", "context", name)
	}
	if changed {
		log.Info("docker context written", "context", name, "host", Host(socket), "path", MetaPath(k.ConfigDir, name))
	}
	return nil
}
