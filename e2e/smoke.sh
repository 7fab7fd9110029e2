#!/usr/bin/env bash
# e2e/smoke.sh: prove the real-VM infrastructure end to end.
#
# As a non-root user (limactl refuses root) with a private LIMA_HOME in a
# temporary directory it creates instance "rd" from the image e2e/setup.sh
# built, starts it (until READY), talks to the guest's dockerd through the
# socket Lima forwards to the host (`docker version`, `docker import` of a
# static Go binary, `docker run`), stops it, starts it again, checks how a
# failed start looks, and deletes it. The instance is deleted on any exit.
#
#   eval "$(e2e/setup.sh)" && e2e/smoke.sh
#
# Run as root it builds the test binary, then runs the VM part as
# $RDD_E2E_USER through runuser; run as any other user it does it all itself.
#
# Environment (defaults follow e2e/setup.sh's exports):
#   RDD_E2E_CACHE, RDD_E2E_USER, RDD_LIMACTL, QEMU_SYSTEM_X86_64, RDD_E2E_IMAGE_DIR
#   RDD_E2E_RESTART=0      skip the stop/start cycle after the first start
#   RDD_E2E_FAILSTART=0    skip the failed-start check
#   RDD_E2E_START_TIMEOUT  limactl start timeout (default 10m, as Lima's)
#   RDD_E2E_KEEP=1         keep the temporary directory (logs, LIMA_HOME) after the run
set -euo pipefail
export LC_ALL=C

CACHE=${RDD_E2E_CACHE:-/var/cache/rdd-e2e}
E2E_USER=${RDD_E2E_USER:-rdde2e}
: "${RDD_LIMACTL:=$CACHE/lima/bin/limactl}"
: "${QEMU_SYSTEM_X86_64:=$CACHE/bin/qemu-system-x86_64}"
: "${RDD_E2E_IMAGE_DIR:=$CACHE/image}"
: "${RDD_E2E_START_TIMEOUT:=10m}"
INSTANCE=rd

log() { printf 'rdd-e2e smoke: %s\n' "$*" >&2; }
die() {
	printf 'rdd-e2e smoke: error: %s\n' "$*" >&2
	exit 1
}
now_us() { echo "${EPOCHREALTIME/./}"; }
fmt_secs() {
	local ms=$(($1 / 1000))
	printf '%d.%ds' $((ms / 1000)) $((ms % 1000 / 100))
}
TIMINGS=()
timing() {
	local line
	line=$(printf 'TIMING %-22s %8s %s' "$1" "$(fmt_secs $(($(now_us) - $2)))" "${3:-}")
	TIMINGS+=("$line")
	log "$line"
}

# ---------------------------------------------------------------- phase 1: any user, usually root

# prepare WORK: everything that needs the checkout or a Go toolchain, so that the
# VM phase needs nothing but WORK (the checkout may be unreadable to E2E_USER).
prepare() {
	local work=$1 here t
	here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	t=$(now_us)
	mkdir -p "$work/img"
	(cd "$here/testdata/hello" && GOWORK=off GOFLAGS=-buildvcs=false CGO_ENABLED=0 \
		go build -trimpath -ldflags='-s -w' -o "$work/img/hello" .)
	tar -C "$work/img" -cf "$work/hello.tar" hello
	rm -rf "$work/img"
	install -m 0755 "${BASH_SOURCE[0]}" "$work/smoke.sh"
	timing build-test-image-tar "$t"
}

outer() {
	local work rc=0 t0
	t0=$(now_us)
	for f in "$RDD_LIMACTL" "$QEMU_SYSTEM_X86_64"; do
		[[ -x $f ]] || die "$f is missing; run e2e/setup.sh first"
	done
	for f in disk.qcow2 vmlinuz initrd.img; do
		[[ -r $RDD_E2E_IMAGE_DIR/$f ]] || die "$RDD_E2E_IMAGE_DIR/$f is missing; run e2e/setup.sh first"
	done
	command -v docker >/dev/null || die "no docker client on PATH"

	work=$(mktemp -d "${TMPDIR:-/tmp}/rdd-e2e.XXXXXX")
	# shellcheck disable=SC2064 # expand now: the trap must know this directory
	trap "outer_cleanup '$work'" EXIT
	trap 'exit 130' INT TERM
	prepare "$work"

	if [[ $(id -u) == 0 ]]; then
		id -u "$E2E_USER" >/dev/null 2>&1 || die "user $E2E_USER is missing; run e2e/setup.sh first"
		chmod 0755 "$work"
		chown -R "$E2E_USER:" "$work"
		local home
		home=$(getent passwd "$E2E_USER" | cut -d: -f6)
		runuser -u "$E2E_USER" -- env -i \
			HOME="$home" USER="$E2E_USER" LOGNAME="$E2E_USER" LC_ALL=C \
			PATH="$(dirname "$RDD_LIMACTL"):$(dirname "$(command -v docker)"):/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin" \
			RDD_LIMACTL="$RDD_LIMACTL" QEMU_SYSTEM_X86_64="$QEMU_SYSTEM_X86_64" \
			RDD_E2E_IMAGE_DIR="$RDD_E2E_IMAGE_DIR" RDD_E2E_START_TIMEOUT="$RDD_E2E_START_TIMEOUT" \
			RDD_E2E_RESTART="${RDD_E2E_RESTART:-1}" RDD_E2E_FAILSTART="${RDD_E2E_FAILSTART:-1}" \
			RDD_E2E_QEMU_ACCEL="${RDD_E2E_QEMU_ACCEL:-}" \
			bash "$work/smoke.sh" --vm "$work" || rc=$?
	else
		bash "$work/smoke.sh" --vm "$work" || rc=$?
	fi
	timing smoke-total "$t0"
	return "$rc"
}

outer_cleanup() {
	local work=$1
	# The VM phase deletes its instance itself; this covers a VM phase that was killed.
	if [[ -d $work/lima/$INSTANCE ]]; then
		log "cleanup: deleting leftover instance"
		if [[ $(id -u) == 0 ]]; then
			runuser -u "$E2E_USER" -- env LIMA_HOME="$work/lima" "$RDD_LIMACTL" delete --force "$INSTANCE" >&2 || true
		else
			LIMA_HOME=$work/lima "$RDD_LIMACTL" delete --force "$INSTANCE" >&2 || true
		fi
	fi
	if [[ ${RDD_E2E_KEEP:-0} == 1 ]]; then
		log "kept $work"
	else
		rm -rf "$work"
	fi
}

# ---------------------------------------------------------------- phase 2: the VM, as E2E_USER

WORK=""
SOCK=""

limactl() { "$RDD_LIMACTL" --tty=false "$@"; }
dock() { docker -H "unix://$SOCK" "$@"; }

render_yaml() {
	# Every field here is explained in e2e/README.md ("lima.yaml").
	cat <<-EOF
		vmType: qemu
		arch: x86_64
		cpus: 2
		memory: 2GiB
		disk: 8GiB
		cpuType:
		  x86_64: max
		firmware:
		  legacyBIOS: true
		images:
		- location: "$RDD_E2E_IMAGE_DIR/disk.qcow2"
		  arch: x86_64
		  kernel:
		    location: "$RDD_E2E_IMAGE_DIR/vmlinuz"
		    cmdline: "root=/dev/vda rw console=ttyS0"
		  initrd:
		    location: "$RDD_E2E_IMAGE_DIR/initrd.img"
		mounts: []
		containerd:
		  system: false
		  user: false
		ssh:
		  loadDotSSHPubKeys: false
		video:
		  display: none
		provision:
		- mode: system
		  script: |
		    #!/bin/sh
		    # the engine rdd asks for: moby
		    systemctl start docker.socket
		probes:
		- mode: readiness
		  description: the docker socket
		  script: |
		    #!/bin/sh
		    for i in \$(seq 1 60); do [ -S /var/run/docker.sock ] && exit 0; sleep 1; done
		    echo >&2 "no /var/run/docker.sock"; exit 1
		portForwards:
		- guestSocket: /var/run/docker.sock
		  hostSocket: "$SOCK"
	EOF
}

show_logs() {
	local d=$WORK/lima/$INSTANCE f
	log "---- logs of the failed run"
	for f in "$WORK"/limactl-*.log "$d/ha.stderr.log" "$d/serial.log"; do
		[[ -f $f ]] || continue
		log "---- $f (last 40 lines)"
		tail -n 40 "$f" >&2
	done
}

vm_cleanup() {
	local rc=$?
	if ((rc != 0)); then
		show_logs
		# keep the instance's logs (serial console, host agent) for RDD_E2E_KEEP=1
		mkdir -p "$WORK/instance-logs"
		cp "$WORK/lima/$INSTANCE"/*.log "$WORK/instance-logs/" 2>/dev/null || true
	fi
	if [[ -d $WORK/lima/$INSTANCE ]]; then
		limactl delete --force "$INSTANCE" >>"$WORK/limactl-delete.log" 2>&1 || true
	fi
	exit "$rc"
}

# run_limactl NAME ARGS...: limactl with its stderr kept in WORK/limactl-NAME.log
run_limactl() {
	local name=$1
	shift
	limactl "$@" 2>"$WORK/limactl-$name.log"
}

# start_ready NAME: limactl start until READY. QEMU 7.2 (bookworm) in TCG has
# been seen to segfault early in the guest's boot (once in about ten starts);
# that one failure is retried once, loudly, and anything else fails the run.
start_ready() {
	local name=$1
	if run_limactl "$name" start --timeout "$RDD_E2E_START_TIMEOUT" "$INSTANCE"; then
		return 0
	fi
	if grep -q 'Driver stopped due to error: \\"signal: segmentation fault' "$LIMA_HOME/$INSTANCE/ha.stderr.log" 2>/dev/null; then
		log "WARNING: QEMU crashed (segmentation fault) during $name; retrying once"
		cp "$LIMA_HOME/$INSTANCE/ha.stderr.log" "$WORK/ha.stderr.$name-crash.log"
		run_limactl "$name-retry" start --timeout "$RDD_E2E_START_TIMEOUT" "$INSTANCE"
		return
	fi
	return 1
}

list_json() { limactl list --json 2>/dev/null; }

# instance_status: "Running", "Stopped", "Broken", ... of the instance, from `limactl list --json`
instance_status() { list_json | sed -n 's/.*"status":"\([^"]*\)".*/\1/p' | head -n1; }

check_docker() { # LABEL
	local t out
	t=$(now_us)
	dock version --format 'client {{.Client.Version}} (API {{.Client.APIVersion}}), server {{.Server.Version}} (API {{.Server.APIVersion}})' >&2
	timing "docker-version/$1" "$t"
}

vm_main() {
	WORK=$1
	SOCK=$WORK/docker.sock
	export LIMA_HOME=$WORK/lima DOCKER_CONFIG=$WORK/docker-config
	mkdir -p "$LIMA_HOME" "$DOCKER_CONFIG"
	trap vm_cleanup EXIT
	trap 'exit 130' INT TERM

	local t out st
	render_yaml >"$WORK/$INSTANCE.yaml"

	t=$(now_us)
	run_limactl create create --name "$INSTANCE" "$WORK/$INSTANCE.yaml"
	timing limactl-create "$t"

	t=$(now_us)
	start_ready start
	timing first-start-to-ready "$t"
	[[ $(instance_status) == Running ]] || die "instance is not Running after start: $(list_json)"
	log "limactl list --json (Running): $(list_json)"
	[[ -S $SOCK ]] || die "no forwarded docker socket at $SOCK"

	check_docker first-start

	t=$(now_us)
	dock import --change 'ENTRYPOINT ["/hello"]' "$WORK/hello.tar" rdd-e2e/hello:smoke >/dev/null
	timing docker-import "$t"
	t=$(now_us)
	out=$(dock run --rm rdd-e2e/hello:smoke)
	[[ $out == "hello from rdd e2e" ]] || die "docker run printed \"$out\""
	timing docker-run "$t" "-> $out"
	t=$(now_us)
	dock run -d --name smoke-wait rdd-e2e/hello:smoke -wait >/dev/null
	st=$(dock inspect --format '{{.State.Status}}' smoke-wait)
	[[ $st == running ]] || die "detached container is $st, not running"
	dock rm -f smoke-wait >/dev/null
	timing docker-run-detached "$t" "-> $st, removed"

	t=$(now_us)
	run_limactl stop stop "$INSTANCE"
	timing stop "$t"
	[[ $(instance_status) == Stopped ]] || die "instance is not Stopped after stop: $(list_json)"
	log "limactl list --json (Stopped): $(list_json)"

	if [[ ${RDD_E2E_FAILSTART:-1} == 1 ]]; then
		local rc=0
		t=$(now_us)
		QEMU_SYSTEM_X86_64=false run_limactl failstart start --timeout 1m "$INSTANCE" || rc=$?
		((rc != 0)) || die "limactl start with a failing QEMU exited 0"
		timing failed-start "$t" "exit $rc, status after: $(instance_status)"
		log "failed start: exit code $rc, stderr (last 5 lines):"
		tail -n 5 "$WORK/limactl-failstart.log" >&2
		[[ $(instance_status) == Stopped ]] || die "instance is not Stopped after a failed start: $(list_json)"
	fi

	if [[ ${RDD_E2E_RESTART:-1} == 1 ]]; then
		t=$(now_us)
		start_ready restart
		timing restart-to-ready "$t"
		check_docker restart
		out=$(dock run --rm rdd-e2e/hello:smoke)
		[[ $out == "hello from rdd e2e" ]] || die "docker run after restart printed \"$out\""
		t=$(now_us)
		run_limactl stop2 stop "$INSTANCE"
		timing stop-after-restart "$t"
	fi

	t=$(now_us)
	run_limactl delete delete "$INSTANCE"
	timing delete "$t"
	[[ ! -e $SOCK ]] || log "note: $SOCK still exists after delete"

	log "summary:"
	printf '  %s\n' "${TIMINGS[@]}" >&2
	log "PASS"
}

if [[ ${1:-} == --vm ]]; then
	vm_main "$2"
else
	outer
fi
