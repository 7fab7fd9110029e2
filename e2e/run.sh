#!/usr/bin/env bash
# e2e/run.sh: rdd drives a real Lima VM, end to end (`make e2e`).
#
# As a non-root user (limactl refuses root), with a private RDD_HOME in a
# temporary directory, it writes desired.yaml with `running: true` and the
# image e2e/setup.sh built, runs `rdd daemon`, and checks:
#   1. `rdd wait` -> ready (a cold start: the instance is created and booted);
#   2. docker through $RDD_HOME/docker.sock runs a container, and the mirror
#      (status/containers/, `rdd ps`) shows it;
#   3. `rdd set --no-wait vm.cpus=3`: the plan (`rdd plan -o json`, else
#      app.yaml's applying, else the Running condition) says vm-restart;
#      ready comes only after Lima reports 3 CPUs, after one restart;
#   4. a vm.image change without confirmation: failed NeedsConfirmation,
#      and the running VM and a container in it are untouched;
#   5. self-repair: with a container (restart policy) holding data in a
#      named volume, SIGKILL QEMU, the host agent and the daemon by their
#      PIDs (their pid files and sockets stay behind); a new daemon reaches
#      ready with no user action, the container runs again, its data
#      intact;
#   6. `rdd set running=false` -> ready, and Lima reports the VM Stopped.
# Then, as the baseline measured in the same run, it stops the daemon and
# times `limactl start` and `limactl stop` of the same instance alone.
# Every step prints a TIMING line; the instance is deleted on any exit.
#
#   eval "$(bash e2e/setup.sh)" && bash e2e/run.sh
#
# Environment (defaults follow e2e/setup.sh's exports):
#   RDD_E2E_CACHE, RDD_E2E_USER, RDD_LIMACTL, QEMU_SYSTEM_X86_64, RDD_E2E_IMAGE_DIR
#   RDD_E2E_TIMEOUT  how long each wait may take (default 12m)
#   RDD_E2E_KEEP=1   keep the temporary directory (logs, homes) after the run
#   RDD_E2E_BASELINE=0  skip the limactl-alone baseline (CI: saves a boot)
set -euo pipefail
export LC_ALL=C

CACHE=${RDD_E2E_CACHE:-/var/cache/rdd-e2e}
E2E_USER=${RDD_E2E_USER:-rdde2e}
: "${RDD_LIMACTL:=$CACHE/lima/bin/limactl}"
: "${QEMU_SYSTEM_X86_64:=$CACHE/bin/qemu-system-x86_64}"
: "${RDD_E2E_IMAGE_DIR:=$CACHE/image}"
: "${RDD_E2E_TIMEOUT:=12m}"
INSTANCE=rd

log() { printf 'rdd-e2e: %s\n' "$*" >&2; }
WORK_DIR=""
die() {
	printf 'rdd-e2e: error: %s\n' "$*" >&2
	[[ -n $WORK_DIR ]] && on_failure
	exit 1
}
now_ms() { echo $(( ${EPOCHREALTIME/./} / 1000 )); }
timing() { log "$(printf 'TIMING %-26s %7.1fs' "$1" "$(( $(now_ms) - $2 ))e-3")"; }

# ---------------------------------------------------------------- phase 1: root (or any user)

outer() {
	local here work rc=0 t
	here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	for f in "$RDD_LIMACTL" "$QEMU_SYSTEM_X86_64"; do
		[[ -x $f ]] || die "$f is missing; run e2e/setup.sh first"
	done
	for f in disk.qcow2 vmlinuz initrd.img; do
		[[ -r $RDD_E2E_IMAGE_DIR/$f ]] || die "$RDD_E2E_IMAGE_DIR/$f is missing; run e2e/setup.sh first"
	done
	command -v docker >/dev/null || die "no docker client on PATH"

	work=$(mktemp -d "${TMPDIR:-/tmp}/rdd-e2e-run.XXXXXX")
	# shellcheck disable=SC2064 # expand now: the trap must know this directory
	trap "cleanup '$work'" EXIT
	trap 'exit 130' INT TERM

	# Everything that needs the checkout or Go is built here, so the VM
	# phase needs nothing but $work (the checkout may be unreadable to it).
	t=$(now_ms)
	mkdir -p "$work/bin" "$work/img"
	(cd "$here/.." && CGO_ENABLED=0 go build -o "$work/bin/rdd" ./cmd/rdd)
	(cd "$here/testdata/hello" && GOWORK=off GOFLAGS=-buildvcs=false CGO_ENABLED=0 \
		go build -trimpath -ldflags='-s -w' -o "$work/img/hello" .)
	tar -C "$work/img" -cf "$work/hello.tar" hello
	install -m 0755 "${BASH_SOURCE[0]}" "$work/run.sh"
	timing build "$t"

	if [[ $(id -u) == 0 ]]; then
		id -u "$E2E_USER" >/dev/null 2>&1 || die "user $E2E_USER is missing; run e2e/setup.sh first"
		chmod 0755 "$work"
		chown -R "$E2E_USER:" "$work"
		local home
		home=$(getent passwd "$E2E_USER" | cut -d: -f6)
		runuser -u "$E2E_USER" -- env -i \
			HOME="$home" USER="$E2E_USER" LOGNAME="$E2E_USER" LC_ALL=C \
			PATH="$work/bin:$(dirname "$RDD_LIMACTL"):$(dirname "$(command -v docker)"):/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin" \
			RDD_LIMACTL="$RDD_LIMACTL" QEMU_SYSTEM_X86_64="$QEMU_SYSTEM_X86_64" \
			RDD_E2E_IMAGE_DIR="$RDD_E2E_IMAGE_DIR" RDD_E2E_TIMEOUT="$RDD_E2E_TIMEOUT" \
			RDD_E2E_BASELINE="${RDD_E2E_BASELINE:-1}" \
			bash "$work/run.sh" --vm "$work" || rc=$?
	else
		PATH="$work/bin:$PATH" bash "$work/run.sh" --vm "$work" || rc=$?
	fi
	return "$rc"
}

cleanup() {
	local work=$1 as=()
	[[ $(id -u) == 0 ]] && as=(runuser -u "$E2E_USER" --)
	if [[ -f $work/home/run/daemon.lock ]]; then
		local pid
		pid=$(cat "$work/home/run/daemon.lock" 2>/dev/null || true)
		[[ -n $pid ]] && kill -INT "$pid" 2>/dev/null || true
	fi
	if [[ -d $work/home/lima/$INSTANCE ]]; then
		log "cleanup: deleting instance $INSTANCE"
		"${as[@]}" env LIMA_HOME="$work/home/lima" "$RDD_LIMACTL" delete --force "$INSTANCE" >&2 || true
	fi
	if [[ ${RDD_E2E_KEEP:-0} == 1 ]]; then
		log "kept $work"
	else
		rm -rf "$work"
	fi
}

# ---------------------------------------------------------------- phase 2: the VM, as E2E_USER

vm_main() {
	local work=$1 t
	export RDD_HOME=$work/home
	export LIMA_HOME=$RDD_HOME/lima
	local sock=$RDD_HOME/docker.sock
	mkdir -p "$RDD_HOME"
	trap 'on_failure' ERR
	set -o errtrace

	cat >"$RDD_HOME/desired.yaml" <<-EOF
		# e2e: the image e2e/setup.sh built, booted directly (no bootloader)
		running: true
		vm:
		  driver: lima
		  cpus: 2
		  memory: 2GiB
		  disk: 8GiB
		  mounts: []    # the image's kernel has no 9p
		  image:
		    location: $RDD_E2E_IMAGE_DIR/disk.qcow2
		    kernel: $RDD_E2E_IMAGE_DIR/vmlinuz
		    initrd: $RDD_E2E_IMAGE_DIR/initrd.img
		    cmdline: "root=/dev/vda rw console=ttyS0"
	EOF
	rdd validate

	t=$(now_ms)
	rdd daemon --vm-start-timeout "$RDD_E2E_TIMEOUT" >"$work/daemon.log" 2>&1 &
	wait_for "$RDD_HOME/status/app.yaml" 'summary:' # the daemon holds its lock
	rdd wait --timeout "$RDD_E2E_TIMEOUT" || die "cold start did not become ready"
	timing rdd-cold-start-to-ready "$t"
	[[ -S $sock ]] || die "no engine socket at $sock"
	grep -q 'reason: Connected' "$RDD_HOME/status/app.yaml" || die "engine not Connected"

	# The engine through the forwarded socket, and the mirror of what runs.
	t=$(now_ms)
	docker -H "unix://$sock" import --change 'ENTRYPOINT ["/hello"]' "$work/hello.tar" rdd-e2e-hello:1 >/dev/null
	out=$(docker -H "unix://$sock" run --rm rdd-e2e-hello:1)
	[[ $out == *hello* ]] || die "unexpected container output: $out"
	docker -H "unix://$sock" run -d --name rdd-e2e-web rdd-e2e-hello:1 -wait >/dev/null
	wait_for "$RDD_HOME/status/containers/rdd-e2e-web.yaml" 'state: running'
	rdd ps | grep -q '^rdd-e2e-web .*running' || die "rdd ps does not show the container"
	timing docker-run-and-mirror "$t"

	# A change that needs a restart: the plan says vm-restart, one
	# restart, and ready only once Lima itself reports 3 CPUs.
	t=$(now_ms)
	rdd set --no-wait vm.cpus=3 || die "rdd set --no-wait vm.cpus=3 failed"
	check_plan_vm_restart
	rdd wait --timeout "$RDD_E2E_TIMEOUT" || die "vm.cpus=3 did not become ready"
	timing rdd-restart-to-ready "$t"
	cpus=$(lima_cpus)
	[[ $cpus == 3 ]] || die "ready, but Lima reports $cpus CPUs after vm.cpus=3"
	# Count the starts begun, not those that ended well: under heavy load
	# `limactl start` may exit "degraded" (ssh too slow) while Lima keeps
	# the VM running, which the next pass adopts as Running.
	starts=$(grep -c 'msg="operation started".*starting' "$work/daemon.log" || true)
	log "VM starts begun by the daemon: $starts (cold start + one restart)"
	[[ $starts == 2 ]] || die "expected 2 starts (cold + one restart), saw $starts"

	check_recreate_guard "$work"
	check_self_repair "$work"

	# running=false succeeds only when the VM is really stopped.
	t=$(now_ms)
	rdd set --timeout "$RDD_E2E_TIMEOUT" running=false || die "rdd set running=false failed"
	timing rdd-stop-to-ready "$t"
	limactl list --json "$INSTANCE" | grep -q '"status":"Stopped"' || die "Lima does not report the VM Stopped"

	# Baseline, same instance, same run: limactl alone.
	kill -INT "$(cat "$RDD_HOME/run/daemon.lock")"
	wait
	if [[ ${RDD_E2E_BASELINE:-1} == 0 ]]; then
		log "PASS (baseline skipped)"
		return 0
	fi
	t=$(now_ms)
	QEMU_SYSTEM_X86_64=$QEMU_SYSTEM_X86_64 limactl start --tty=false --timeout "$RDD_E2E_TIMEOUT" "$INSTANCE" >"$work/limactl-start.log" 2>&1
	timing limactl-start-alone "$t"
	t=$(now_ms)
	limactl stop --tty=false "$INSTANCE" >"$work/limactl-stop.log" 2>&1
	timing limactl-stop-alone "$t"
	log "PASS"
}

limactl() { "$RDD_LIMACTL" "$@"; }

lima_cpus() {
	limactl list --json "$INSTANCE" | sed -n 's/.*"cpus":\([0-9]*\),"memory".*/\1/p' | head -1
}

# check_plan_vm_restart: right after `rdd set --no-wait vm.cpus=3`, what rdd
# says the change costs is vm-restart: `rdd plan -o json` where this build
# has it, else app.yaml's applying, else (neither built yet) the Running
# condition Restarting.
check_plan_vm_restart() {
	local out
	if rdd plan --help >/dev/null 2>&1; then
		out=$(rdd plan -o json) || die "rdd plan failed"
		grep -q '"key": *"vm.cpus"' <<<"$out" && grep -q '"effect": *"vm-restart"' <<<"$out" ||
			die "rdd plan does not show vm.cpus as vm-restart: $out"
		log "rdd plan: vm.cpus is vm-restart"
		wait_for "$RDD_HOME/status/app.yaml" 'Restarting'
	elif wait_for_any "$RDD_HOME/status/app.yaml" 'applying:' 'reason: Restarting' && grep -q 'applying:' "$RDD_HOME/status/app.yaml"; then
		grep -A3 'applying:' "$RDD_HOME/status/app.yaml" | grep -q 'effect: vm-restart' ||
			die "app.yaml applying is not vm-restart: $(grep -A4 'applying:' "$RDD_HOME/status/app.yaml")"
		log "app.yaml applying: vm-restart"
	else
		wait_for "$RDD_HOME/status/app.yaml" 'reason: Restarting'
		log "NOTE: this build has neither rdd plan nor app.yaml applying; checked the Running condition (Restarting) only"
	fi
}

# check_recreate_guard: a vm.image change without confirmation recreates
# nothing: the verdict is failed NeedsConfirmation, the VM keeps running
# (no stop, no delete), a container in it keeps running; undoing the
# change is ready again without a restart.
check_recreate_guard() {
	local work=$1 sock=$RDD_HOME/docker.sock t before out
	t=$(now_ms)
	before=$(grep -c 'msg="operation started"' "$work/daemon.log" || true)
	# The container of step 2 has no restart policy, so the restart above
	# left it exited: a new one shows that nothing here stops it.
	docker -H "unix://$sock" run -d --name rdd-e2e-guard rdd-e2e-hello:1 -wait >/dev/null || die "docker run rdd-e2e-guard failed"
	docker -H "unix://$sock" inspect -f '{{.State.Running}}' rdd-e2e-guard | grep -qx true || die "rdd-e2e-guard is not running"
	out=$(rdd set --timeout "$RDD_E2E_TIMEOUT" vm.image.cmdline="root=/dev/vda rw console=ttyS0 quiet" 2>&1) &&
		die "a vm.image change was applied without confirmation: $out"
	grep -q 'NeedsConfirmation' <<<"$out" || die "no NeedsConfirmation: $out"
	grep -q 'rdd confirm recreate' <<<"$out" || die "the message does not name rdd confirm recreate: $out"
	[[ $(grep -c 'msg="operation started"' "$work/daemon.log" || true) == "$before" ]] ||
		die "the daemon started a VM operation for an unconfirmed recreate"
	limactl list --json "$INSTANCE" | grep -q '"status":"Running"' || die "the VM does not run any more"
	docker -H "unix://$sock" inspect -f '{{.State.Running}}' rdd-e2e-guard | grep -qx true ||
		die "the container stopped during an unconfirmed recreate"
	rdd set --timeout "$RDD_E2E_TIMEOUT" vm.image.cmdline="root=/dev/vda rw console=ttyS0" || die "undoing the image change is not ready"
	[[ $(grep -c 'msg="operation started"' "$work/daemon.log" || true) == "$before" ]] || die "undoing the image change touched the VM"
	timing recreate-guard "$t"
}

# check_self_repair: the VM's processes and the daemon die by SIGKILL (a
# power loss, as far as they can tell), leaving ha.pid, qemu.pid and the
# sockets behind; a new daemon brings everything back with no user action.
check_self_repair() {
	local work=$1 sock=$RDD_HOME/docker.sock dir=$LIMA_HOME/$INSTANCE token t ha qemu daemon i
	token=e2e-$RANDOM$RANDOM
	docker -H "unix://$sock" volume create rdd-e2e-vol >/dev/null
	docker -H "unix://$sock" run -d --restart=always --name rdd-e2e-data -v rdd-e2e-vol:/data \
		rdd-e2e-hello:1 -write "/data/proof=$token" -wait >/dev/null
	for i in $(seq 1 100); do
		out=$(docker -H "unix://$sock" run --rm -v rdd-e2e-vol:/data rdd-e2e-hello:1 -cat /data/proof 2>/dev/null || true)
		[[ $out == "$token" ]] && break
		sleep 0.2
	done
	[[ $out == "$token" ]] || die "the volume does not hold the token before the crash: $out"
	# The write was fsynced inside the guest; flush the rest of the guest's
	# page cache too (the test is about rdd's recovery, not about what a
	# filesystem keeps of unsynced writes).
	limactl shell "$INSTANCE" sudo sync

	ha=$(cat "$dir/ha.pid") qemu=$(cat "$dir/qemu.pid") daemon=$(cat "$RDD_HOME/run/daemon.lock")
	log "SIGKILL: qemu $qemu, host agent $ha, daemon $daemon"
	kill -KILL "$qemu" "$ha" "$daemon"
	for i in $(seq 1 100); do
		kill -0 "$daemon" 2>/dev/null || break
		sleep 0.1
	done
	[[ -f $dir/ha.pid && -f $dir/qemu.pid ]] || die "the pid files did not stay behind"
	[[ -e $dir/ha.sock && -e $sock ]] || die "the sockets did not stay behind"

	t=$(now_ms)
	rdd daemon --vm-start-timeout "$RDD_E2E_TIMEOUT" >>"$work/daemon.log" 2>&1 &
	# The killed daemon's app.yaml and ready marker are still there: wait
	# for the new one to hold the lock and to see the VM down.
	wait_for "$RDD_HOME/run/daemon.lock" "^$!\$"
	wait_for "$RDD_HOME/status/app.yaml" 'summary: InProgress'
	rdd wait --timeout "$RDD_E2E_TIMEOUT" || die "the VM did not come back after the crash"
	timing self-repair-to-ready "$t"
	for i in $(seq 1 150); do
		docker -H "unix://$sock" inspect -f '{{.State.Running}}' rdd-e2e-data 2>/dev/null | grep -qx true && break
		sleep 0.2
	done
	docker -H "unix://$sock" inspect -f '{{.State.Running}}' rdd-e2e-data | grep -qx true || die "rdd-e2e-data does not run again"
	timing self-repair-container-up "$t"
	out=$(docker -H "unix://$sock" run --rm -v rdd-e2e-vol:/data rdd-e2e-hello:1 -cat /data/proof)
	[[ $out == "$token" ]] || die "the volume lost its data: $out, want $token"
	log "self-repair: $(grep -o 'repaired: [^"]*' "$RDD_HOME/status/app.yaml" | head -1 || echo 'plain start (Lima cleared the dead PIDs itself)')"
}

# wait_for_any FILE REGEX...: like wait_for, for the first of several.
wait_for_any() {
	local f=$1 i re
	shift
	for i in $(seq 1 300); do
		for re in "$@"; do
			grep -q "$re" "$f" 2>/dev/null && return 0
		done
		sleep 0.2
	done
	return 1
}

# wait_for FILE REGEX: poll-free waits are rdd's job; this harness only
# checks a file the daemon writes, for a bounded time.
wait_for() {
	local i
	for i in $(seq 1 300); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.2
	done
	die "$1 never matched $2"
}

on_failure() {
	log "FAILED; daemon log tail:"
	tail -n 40 "$WORK_DIR/daemon.log" >&2 || true
	rdd status >&2 || true
	for f in "$LIMA_HOME/$INSTANCE/ha.stderr.log" "$LIMA_HOME/$INSTANCE/serial.log"; do
		[[ -f $f ]] && { log "tail of $f:"; tail -n 20 "$f" >&2; }
	done
}

if [[ ${1:-} == --vm ]]; then
	WORK_DIR=$2
	vm_main "$2"
else
	outer
fi
