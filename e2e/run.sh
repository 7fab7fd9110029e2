#!/usr/bin/env bash
# e2e/run.sh: rdd drives a real Lima VM, end to end (`make e2e`).
#
# As a non-root user (limactl refuses root), with a private RDD_HOME in a
# temporary directory, it writes desired.yaml with `running: true` and the
# image e2e/setup.sh built, runs `rdd daemon`, and checks:
#   1. `rdd wait` -> ready (a cold start: the instance is created and booted);
#   2. docker through $RDD_HOME/docker.sock runs a container, and the mirror
#      (status/containers/, `rdd ps`) shows it;
#   3. `rdd set vm.cpus=3` -> one restart -> ready, and Lima reports 3 CPUs;
#   4. `rdd set running=false` -> ready, and Lima reports the VM Stopped.
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

	# A change that needs a restart: one restart, then ready.
	t=$(now_ms)
	rdd set --timeout "$RDD_E2E_TIMEOUT" vm.cpus=3 || die "rdd set vm.cpus=3 failed"
	timing rdd-restart-to-ready "$t"
	cpus=$(limactl list --json "$INSTANCE" | sed -n 's/.*"cpus":\([0-9]*\),"memory".*/\1/p' | head -1)
	[[ $cpus == 3 ]] || die "Lima reports $cpus CPUs after vm.cpus=3"
	# Count the starts begun, not those that ended well: under heavy load
	# `limactl start` may exit "degraded" (ssh too slow) while Lima keeps
	# the VM running, which the next pass adopts as Running.
	starts=$(grep -c 'msg="operation started".*starting' "$work/daemon.log" || true)
	log "VM starts begun by the daemon: $starts (cold start + one restart)"
	[[ $starts == 2 ]] || die "expected 2 starts (cold + one restart), saw $starts"

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
