package reconciler

import "github.com/rddproject/rdd/schema"

// ContextKeeper keeps something outside status/ pointing at the engine
// socket, such as a docker CLI context, so that tools reach the engine
// without being told where it is.
//
// Keep is called once per pass while the engine socket is known (the VM
// runs). It MUST be cheap when nothing changed (write only what differs)
// and MUST NOT block. Its error is reported in the ContainerEngineReady
// message, never acted on: the engine works without it.
type ContextKeeper interface {
	Keep(d *schema.Desired, socket string) error
}

// keepContext runs the context keeper, if any, for this pass's socket and
// adds its failure to the engine's message.
func (l *Loop) keepContext(d *schema.Desired, socket string, eng *EngineResult) {
	if l.cfg.Context == nil || socket == "" {
		return
	}
	if err := l.cfg.Context.Keep(d, socket); err != nil {
		if eng.Message != "" {
			eng.Message += "\n"
		}
		eng.Message += err.Error()
	}
}
