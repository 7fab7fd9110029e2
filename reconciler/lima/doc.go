// Package lima is the VM driver for `vm.driver: lima`: it keeps one Lima
// instance, "rd", in rdd's own LIMA_HOME ($RDD_HOME/lima, so a user's own
// instances are never touched) matching the desired state, and drives it
// only through limactl (1.1 or later, 1.x and 2.x CLIs).
//
// Rendering. Render turns a Spec (cpus, memory, disk, vmType, rosetta,
// mounts, an optional boot image with kernel/initrd/cmdline, the engine
// and its host socket) into lima.yaml, deterministically: Lima's stock
// Ubuntu LTS image through `base` unless vm.image overrides it, a system
// provision script that enables dockerd (moby) or leaves Lima's containerd
// running (containerd), a readiness probe for the engine's socket, and a
// portForwards entry exposing the guest's engine socket at the host
// socket.
//
// Commands. Every pass runs `limactl list --json` to observe. Creating
// pipes the rendered file to `limactl create --tty=false --name=rd -`;
// changes to an existing instance go through `limactl edit rd --tty=false
// --set EXPR`, EXPR assigning a literal to every key rdd owns (no env or
// load operators, which Lima 2 disables); then `limactl start --tty=false
// --timeout=T rd`, `limactl stop rd` (forcibly after StopTimeout), and
// `limactl delete --force rd` when a new boot image needs a new disk.
// limactl runs in its own process group, and is stopped with SIGTERM when
// its context ends.
//
// Record. After create and edit the Spec is written to rdd-spec.json in
// the instance's directory. The applied configuration is that record,
// corrected by what limactl list reports (cpus, memory, disk, vmType); a
// daemon that restarts compares it with the desired Spec and adopts a
// running instance that matches, without restarting it.
//
// Policy. plan is a pure function of the observation and the desired Spec:
// any change needs a restart (Lima reads its configuration only at start;
// a disk grows then), done once for any number of changed keys, and while
// the instance is stopped the edit waits for the next start; a new boot
// image recreates the instance; a disk that would shrink is refused: the
// Running condition is StartFailed (one of the contract's reasons) with a
// message saying nothing was changed, and a running instance keeps its
// socket, so the engine stays connected.
//
// Operations. Create, start, stop and delete run in a background goroutine
// while Reconcile reports Starting, Stopping or Restarting, so the loop
// never blocks; Changes wakes the loop when one ends. A failed operation
// becomes StartFailed or StopFailed, quoting limactl's own error lines and
// naming the instance's log files, and the same desired state is retried
// after RetryAfter (doubling, at most 5m). Operations are bounded by
// StartTimeout and StopTimeout, and cancelled when the context of the
// Reconcile that began them ends (daemon shutdown); Close waits for them.
package lima
