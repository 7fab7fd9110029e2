// Package lima is the VM driver for `vm.driver: lima`: it keeps one Lima
// instance, "rd", in rdd's own LIMA_HOME ($RDD_HOME/lima, so a user's own
// instances are never touched) matching the desired state, and drives it
// only through limactl (1.1 or later, 1.x and 2.x CLIs).
//
// Rendering (render.go). Render turns a Spec (cpus, memory, disk, vmType,
// rosetta, mounts, an optional boot image with kernel/initrd/cmdline, the
// engine and its host socket) into lima.yaml, deterministically: Lima's
// stock Ubuntu LTS image through `base` unless vm.image overrides it, a
// system provision script that enables dockerd (moby) or leaves Lima's
// containerd running (containerd), a readiness probe for the engine's
// socket, and a portForwards entry exposing the guest's engine socket at
// the host socket.
//
// Effects (effects.go). One table, rules, gives every vm.* and
// containerEngine.* key the driver owns its effect on an existing instance
// and the reason; effects computes the changes from the configuration in
// force (the record, corrected by limactl list) to the desired Spec with
// it, Plan returns exactly that (also without a daemon: it then reads the
// record from disk), and decide (plan.go) turns exactly that into the
// action. A test walks the schema so that a new field cannot miss a row.
// The table, and how each row was verified (Lima's source at
// lima-vm/lima@v1.2.2; "double" is a test of this package or a txtar
// script against the limactl test double; "VM" is e2e/run.sh):
//
//	key                     effect      reason, and how verified
//	vm.cpus                 vm-restart  read only at start: limactl edit, then a restart.
//	                                    pkg/store/instance.go Inspect, QEMU args at start; double; VM (3 CPUs after the restart)
//	vm.memory               vm-restart  as cpus. pkg/driver/qemu/qemu.go Cmdline; double
//	vm.disk (grow)          vm-restart  resized at start, the rootfs grows at boot.
//	                                    pkg/instance/start.go prepareDiffDisk, cidata user-data growpart; double
//	vm.disk (shrink)        refused     limactl edit refuses it. pkg/limayaml/validate.go ValidateAgainstLatestConfig; double
//	vm.type                 recreate    edit accepts it, but the disk made for the old type is never converted.
//	                                    pkg/driver/qemu/qemu.go and pkg/driver/vz/disk.go EnsureDisk return early
//	vm.rosetta              vm-restart  applied at each boot (vz). cidata boot/05-rosetta-volume.sh
//	vm.mounts               vm-restart  regenerated at each start. pkg/cidata/cidata.go templateArgs; double
//	vm.image                recreate    images are read only when the disk is created.
//	                                    pkg/instance/start.go Prepare; double; VM (held without confirmation)
//	vm.mountType            vm-restart  applied at next start. pkg/driver/qemu/qemu_driver.go Validate; golden render
//	vm.env                  vm-restart  rendered into cidata at each start. pkg/cidata/cidata.go setupEnv; golden render
//	vm.dns                  vm-restart  cidata network-config at each start (with hostResolver off, as Lima requires); golden
//	vm.hosts                vm-restart  served by the host agent's DNS, read at start (or an /etc/hosts block when dns is set)
//	vm.portForwards         vm-restart  read by the host agent only when it starts. pkg/hostagent/hostagent.go New; golden
//	vm.provision            vm-restart  embedded in cidata at each start, run at every boot (after rdd's own); golden
//	vm.proxy, vm.caCerts    engine-restart  not in lima.yaml: applied inside the running guest by the engine
//	                                    configuration (package guestconfig: a dockerd drop-in, the trust store, then a
//	                                    docker restart); double
//	containerEngine.registryMirrors, insecureRegistries, config
//	                        reload or engine-restart  daemon.json in the guest, SIGHUP for dockerd's reloadable keys
//	                                    (guestconfig's table, moby daemon/reload.go), a restart for the others; double
//	vm.recreate             none        a permission, nothing in the VM
//	containerEngine.name    vm-restart  the engine's guest socket is a port forward (host agent start only) and the
//	                                    provision script picks the engine at boot; double
//	containerEngine.socket  vm-restart  the host socket is a port forward, read only when the host agent starts, and
//	                                    the 1.2.2 host agent cannot restart without the VM. pkg/hostagent/hostagent.go
//	                                    New, Run (driver.Start); double
//
// containerEngine.name is vm-restart rather than engine-restart: switching
// inside the running guest would keep the VM up, but the forwarded guest
// socket differs between the engines (/var/run/docker.sock and
// /run/containerd/containerd.sock) and Lima's host agent sets its forwards
// up once, when it starts; Lima's containerd support (containerd.system)
// is also set up by a boot script. Both change only with a restart.
// vm.driver, containerEngine.registryMirrors, insecureRegistries, config
// and dockerContext belong to other parts of rdd (ownedElsewhere).
//
// Decisions (plan.go). A refused change, or a recreate without
// reconciler.Allow{Recreate: true}, holds every change of the edit before
// anything is stopped: a running instance keeps running and keeps its
// socket (the engine stays connected), and VMResult.Held makes the verdict
// failed (ChangeRefused, NeedsConfirmation naming the keys, what is lost
// and `rdd confirm recreate`). A value `limactl edit --set` cannot carry
// (a backslash, as in C:\Users\x) is refused the same way, so nothing is
// torn down by an edit that would then fail. Any number of restart-only
// changes are one stop, one edit, one start; while stopped, the edit waits
// for the next start.
//
// Operations (operation.go, steps.go). Create, start, stop and delete run
// in a background goroutine while Reconcile reports Starting, Stopping or
// Restarting with Applying listing the changes applied, so the loop never
// blocks; Changes wakes the loop when one ends. After a start the driver
// reports Running only once `limactl list --json` shows the cpus, memory
// and disk it started with (inforce.go). A failed operation becomes
// StartFailed or StopFailed, quoting limactl's own error lines and naming
// the instance's log files, retried after RetryAfter with backoff.
// Operations are bounded by StartTimeout and StopTimeout, and cancelled
// when the Reconcile context ends; Close (close.go) cancels whatever
// limactl runs, also a forced stop after a start timeout, and kills its
// process group if it has not ended within 1.2 s: Close returns in under
// 2 s in every state.
//
// Self-repair (repair.go, liveness.go). A power loss or a killed host
// agent leaves pid files naming dead processes (Lima removes those
// itself: pkg/store/instance.go ReadPIDFile), an empty pid file, QEMU
// running without its host agent, or a PID reused by an unrelated process
// (Lima trusts any live PID, and `limactl stop --force` SIGKILLs it
// unchecked: pkg/instance/stop.go StopForcibly), which limactl reports
// Broken and refuses to start (cmd/limactl/start.go "errors inspecting
// instance"). Before any forced stop the driver checks each pid file: a
// PID whose command line names the file (the host agent runs with
// `--pidfile DIR/ha.pid`, QEMU with `-pidfile DIR/qemu.pid`; Linux reads
// /proc/PID/cmdline, elsewhere `ps -o command=`) is the instance's and is
// left to `limactl stop --force`; any other is removed as stale, so no
// unrelated process is ever killed. Then it starts the instance again,
// never deleting it, and says what it repaired in the Running message and
// the log. A running instance's processes are checked every few seconds,
// so this happens while the daemon runs as well as after it starts.
//
// Record (record.go). After create and edit the Spec is written to
// rdd-spec.json in the instance's directory; a daemon that restarts
// compares it with the desired Spec and adopts a running instance that
// matches, without restarting it.
package lima
