#!/usr/bin/env bash
# e2e/setup.sh: prepare a machine for rdd's real-VM end-to-end runs.
#
# Run as root (it installs Debian packages, runs debootstrap and creates a
# user). Idempotent: everything expensive is cached outside the clone under
# $RDD_E2E_CACHE (default /var/cache/rdd-e2e) and rebuilt only when missing or
# when its recipe changed (a hash of the recipe is kept in a stamp file).
#
#   $CACHE/lima/bin/limactl                          Lima, built from the Go module proxy
#   $CACHE/lima/share/lima/lima-guestagent.Linux-x86_64
#   $CACHE/image/{disk.qcow2,vmlinuz,initrd.img}     Debian guest: cloud-init, sshd, docker.io
#   $CACHE/bin/qemu-system-x86_64                    KVM-to-TCG wrapper (qemu-tcg-wrapper.sh)
#   $CACHE/debs/                                     debootstrap's package cache
#
# Progress and the time of every step go to stderr. On success stdout carries
# only `export` lines for a caller to eval:
#
#   eval "$(e2e/setup.sh)"
#
# Environment:
#   RDD_E2E_CACHE   cache directory (default /var/cache/rdd-e2e)
#   RDD_E2E_USER    non-root user that runs limactl (default rdde2e)
#   RDD_E2E_MIRROR  Debian mirror for the guest image (default: the host's apt source)
#   RDD_E2E_REBUILD space-separated parts to rebuild anyway: lima image
set -euo pipefail
export LC_ALL=C

CACHE=${RDD_E2E_CACHE:-/var/cache/rdd-e2e}
E2E_USER=${RDD_E2E_USER:-rdde2e}
REBUILD=" ${RDD_E2E_REBUILD:-} "
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

LIMA_MODULE=github.com/lima-vm/lima
LIMA_VERSION=v1.2.2 # newest the Go module proxy serves (v2 is refused)

IMAGE_SUITE=bookworm
IMAGE_FS_SIZE=2G # grown to the instance's disk size by cloud-init at first boot
IMAGE_PACKAGES=(
	systemd systemd-sysv udev dbus libnss-myhostname kmod procps
	linux-image-cloud-amd64 # virtio drivers; no 9p: mounts need reverse-sshfs
	ifupdown isc-dhcp-client iproute2 netbase ca-certificates e2fsprogs
	cloud-init python3-cffi-backend
	openssh-server sudo sshfs libpam-systemd
	apparmor docker.io
)

HOST_PACKAGES=(qemu-system-x86 qemu-utils seabios ipxe-qemu debootstrap e2fsprogs openssh-client)

# ---------------------------------------------------------------- helpers

log() { printf 'rdd-e2e setup: %s\n' "$*" >&2; }
die() {
	printf 'rdd-e2e setup: error: %s\n' "$*" >&2
	exit 1
}

now_us() { echo "${EPOCHREALTIME/./}"; }
fmt_secs() { # microseconds -> "12.3s"
	local ms=$(($1 / 1000))
	printf '%d.%ds' $((ms / 1000)) $((ms % 1000 / 100))
}
# timing STEP START_US [NOTE]: one line per step, to stderr
timing() { printf 'rdd-e2e setup: TIMING %-22s %8s %s\n' "$1" "$(fmt_secs $(($(now_us) - $2)))" "${3:-}" >&2; }

need_root() {
	[[ $(id -u) == 0 ]] || die "$1 needs root; run: sudo $0"
}

rebuild_requested() { [[ $REBUILD == *" $1 "* ]]; }

# recipe_hash FUNCTION [EXTRA...]: hash of a build function's source and its inputs,
# so that editing the recipe invalidates the cached result.
recipe_hash() {
	{
		declare -f "$1"
		shift
		printf '%s\n' "$@"
	} | sha256sum | cut -c1-16
}

stamp_ok() { # DIR HASH
	[[ -f $1/.rdd-e2e-stamp ]] && grep -qx "recipe=$2" "$1/.rdd-e2e-stamp"
}

# install_into_place TMPDIR FINALDIR: replace FINALDIR by TMPDIR with renames only,
# so a reader (or an interrupted run) never sees a half-built directory.
install_into_place() {
	local tmp=$1 final=$2 old
	if [[ -e $final ]]; then
		old=$(mktemp -d "$final.old.XXXXXX")
		mv -T "$final" "$old/x"
		mv -T "$tmp" "$final"
		rm -rf "$old"
	else
		mv -T "$tmp" "$final"
	fi
}

# Debian mirror of the host's apt configuration (deb822 or one-line format).
host_mirror() {
	local uri
	if [[ -n ${RDD_E2E_MIRROR:-} ]]; then
		echo "$RDD_E2E_MIRROR"
		return
	fi
	uri=$(awk '
		/^[Uu][Rr][Ii][Ss]:/ { for (i = 2; i <= NF; i++) u[n++] = $i }
		/^[Ss]uites:/        { for (i = 2; i <= NF; i++) if ($i !~ /security/) ok = 1 }
		/^$/                 { if (ok) for (j = 0; j < n; j++) if (u[j] !~ /security/) { print u[j]; exit } n = 0; ok = 0 }
		END                  { if (ok) for (j = 0; j < n; j++) if (u[j] !~ /security/) { print u[j]; exit } }
	' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1)
	if [[ -z $uri ]]; then
		uri=$(awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' \
			/etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -n1)
	fi
	[[ -n $uri ]] || die "no Debian mirror found in the host's apt sources; set RDD_E2E_MIRROR"
	echo "$uri"
}

# ---------------------------------------------------------------- recipes
# The bodies of build_lima and build_image are part of their cache keys.

# build_lima PREFIX: limactl and the linux/amd64 guest agent, in the layout
# limactl expects (PREFIX/bin/limactl, PREFIX/share/lima/lima-guestagent.Linux-x86_64).
build_lima() {
	local prefix=$1 src work ldflags
	export GOWORK=off GOTOOLCHAIN=local GOFLAGS=-buildvcs=false
	# `go install module@version` may trip over the proxy's version list:
	# download the exact version and build inside a writable copy of it.
	src=$(cd "$prefix" && go mod download -json "$LIMA_MODULE@$LIMA_VERSION" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	[[ -d $src ]] || die "go mod download $LIMA_MODULE@$LIMA_VERSION gave no directory"
	work=$prefix/src
	cp -R "$src/." "$work"
	chmod -R u+w "$work"
	ldflags="-s -w -X $LIMA_MODULE/pkg/version.Version=$LIMA_VERSION"
	mkdir -p "$prefix/bin" "$prefix/share/lima"
	(cd "$work" && CGO_ENABLED=0 go build -ldflags="$ldflags" -o "$prefix/bin/limactl" ./cmd/limactl)
	(cd "$work" && CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -ldflags="$ldflags" \
		-o "$prefix/share/lima/lima-guestagent.Linux-x86_64" ./cmd/lima-guestagent)
	cp -R "$work/templates" "$prefix/share/lima/templates"
	rm -rf "$work"
	chmod -R a+rX "$prefix"
}

# build_image OUTDIR MIRROR: a Debian guest booted directly by QEMU (kernel +
# initrd + an ext4 file system on the whole disk, no partition table, no
# bootloader), ready for Lima: cloud-init with the NoCloud datasource, sshd,
# sudo, dbus (else `limactl stop` waits for its 3-minute timeout), apparmor
# (else `docker run` fails in the guest) and docker.io with its socket open to
# Lima's ssh user, who forwards it to the host.
#
# debootstrap runs in two stages so that dpkg is configured (no fsync, no
# documentation) before the second stage installs and configures everything.
build_image() {
	local out=$1 mirror=$2 root=$1/rootfs t unit
	t=$(now_us)
	mkdir -p "$CACHE/debs"
	debootstrap --foreign --variant=minbase --cache-dir="$CACHE/debs" \
		--include="$(
			IFS=,
			echo "${IMAGE_PACKAGES[*]}"
		)" \
		"$IMAGE_SUITE" "$root" "$mirror" >"$out/debootstrap.log" 2>&1 ||
		{
			tail -n 30 "$out/debootstrap.log" >&2
			die "debootstrap (first stage) failed (log above)"
		}
	timing image/debootstrap-1 "$t"

	t=$(now_us)
	mkdir -p "$root/etc/dpkg/dpkg.cfg.d"
	cat >"$root/etc/dpkg/dpkg.cfg.d/01-rdd-e2e" <<-'EOF'
		force-unsafe-io
		path-exclude=/usr/share/doc/*
		path-include=/usr/share/doc/*/copyright
		path-exclude=/usr/share/man/*
		path-exclude=/usr/share/info/*
		path-exclude=/usr/share/locale/*
		path-include=/usr/share/locale/locale.alias
	EOF
	chroot "$root" /debootstrap/debootstrap --second-stage >>"$out/debootstrap.log" 2>&1 ||
		{
			tail -n 30 "$out/debootstrap.log" >&2
			die "debootstrap (second stage) failed (log above)"
		}
	timing image/debootstrap-2 "$t"

	t=$(now_us)
	sed -i '/^force-unsafe-io/d' "$root/etc/dpkg/dpkg.cfg.d/01-rdd-e2e"
	rm -f "$root/usr/sbin/policy-rc.d"
	echo rdd-guest >"$root/etc/hostname"
	: >"$root/etc/machine-id" # each instance gets its own at first boot
	echo '/dev/vda / ext4 defaults,discard 0 1' >"$root/etc/fstab"

	mkdir -p "$root/etc/cloud/cloud.cfg.d"
	cat >"$root/etc/cloud/cloud.cfg.d/99-rdd-e2e.cfg" <<-'EOF'
		# Lima attaches its cloud-init data as a NoCloud "cidata" disk.
		datasource_list: [ NoCloud, None ]
		# One host key type is enough (RSA key generation is slow under TCG).
		ssh_genkeytypes: [ ed25519 ]
		# built into glibc: no locales package, no locale-gen at boot
		locale: C.UTF-8
	EOF

	# Lima's ssh user forwards /var/run/docker.sock to the host: let it connect.
	mkdir -p "$root/etc/systemd/system/docker.socket.d"
	printf '[Socket]\nSocketMode=0666\n' >"$root/etc/systemd/system/docker.socket.d/10-rdd-e2e.conf"

	# sshd starts only when Lima's boot scripts are done (/run/lima-boot-done).
	# Lima 1.2.2's host agent forwards the guest agent's socket as soon as ssh
	# answers; if the agent is not listening yet (it is installed by boot script
	# 25, and restarted there on every boot) the retry deletes the forwarded
	# socket while ssh keeps the old forward, the agent is never reached, and
	# `limactl start` ends DEGRADED after a minute. Under TCG on a busy machine
	# the boot scripts take long enough for this to happen. Lima's boot.sh writes
	# the marker even when one of its scripts fails; for a boot that never gets
	# there, a timer starts sshd after 15 minutes (longer than any start timeout:
	# a slow boot must not reach the race) so that `limactl shell` can look.
	# (cloud-init.service Wants=sshd.service: drop that alias too, or it starts sshd early.)
	rm -f "$root/etc/systemd/system/multi-user.target.wants/ssh.service" "$root/etc/systemd/system/sshd.service"
	cat >"$root/etc/systemd/system/rdd-ssh-after-lima-boot.path" <<-'EOF'
		[Unit]
		Description=Start sshd once Lima's boot scripts have finished

		[Path]
		PathExists=/run/lima-boot-done
		Unit=ssh.service

		[Install]
		WantedBy=multi-user.target
	EOF
	cat >"$root/etc/systemd/system/rdd-ssh-fallback.timer" <<-'EOF'
		[Unit]
		Description=Start sshd after 15 minutes even if Lima's boot scripts did not finish

		[Timer]
		OnBootSec=900
		Unit=ssh.service

		[Install]
		WantedBy=timers.target
	EOF
	mkdir -p "$root/etc/systemd/system/timers.target.wants"
	ln -sf ../rdd-ssh-after-lima-boot.path "$root/etc/systemd/system/multi-user.target.wants/rdd-ssh-after-lima-boot.path"
	ln -sf ../rdd-ssh-fallback.timer "$root/etc/systemd/system/timers.target.wants/rdd-ssh-fallback.timer"

	# No graphical session in the guest.
	ln -sf /lib/systemd/system/multi-user.target "$root/etc/systemd/system/default.target"

	# Nothing periodic in a short-lived test guest.
	for unit in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer; do
		ln -sf /dev/null "$root/etc/systemd/system/$unit"
	done

	rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb
	cp "$root"/boot/vmlinuz-* "$out/vmlinuz"
	cp "$root"/boot/initrd.img-* "$out/initrd.img"
	basename "$root"/boot/vmlinuz-* | sed 's/^vmlinuz-//' >"$out/kernel-release"
	timing image/configure "$t"

	t=$(now_us)
	truncate -s "$IMAGE_FS_SIZE" "$out/disk.raw"
	mkfs.ext4 -q -F -L rdd-root -d "$root" "$out/disk.raw"
	# qcow2 holds only the used blocks: Lima copies the image on every create.
	qemu-img convert -f raw -O qcow2 "$out/disk.raw" "$out/disk.qcow2"
	rm -rf "$out/disk.raw" "$root"
	chmod 0644 "$out/disk.qcow2" "$out/vmlinuz" "$out/initrd.img"
	timing image/mkfs "$t"
}

# ---------------------------------------------------------------- steps

step_packages() {
	local t missing=() p
	t=$(now_us)
	for p in "${HOST_PACKAGES[@]}"; do
		dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || missing+=("$p")
	done
	# The smoke test talks to the guest's dockerd with a host docker client.
	command -v docker >/dev/null || missing+=(docker.io)
	if ((${#missing[@]})); then
		need_root "installing ${missing[*]}"
		log "installing Debian packages: ${missing[*]}"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq >&2
		apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
	fi
	command -v go >/dev/null || die "go is needed to build Lima (Go ${LIMA_GO_MIN:-1.23} or newer)"
	timing packages "$t" "${missing[*]:-(all present)}"
}

step_user() {
	local t
	t=$(now_us)
	if ! id -u "$E2E_USER" >/dev/null 2>&1; then
		need_root "creating user $E2E_USER"
		useradd --create-home --user-group --shell /bin/bash "$E2E_USER"
		log "created user $E2E_USER"
	fi
	timing user "$t" "$E2E_USER"
}

step_wrapper() {
	local t real tmp
	t=$(now_us)
	real=$(PATH=${PATH//"$CACHE/bin:"/} command -v qemu-system-x86_64) ||
		die "qemu-system-x86_64 not found"
	mkdir -p "$CACHE/bin"
	tmp=$(mktemp "$CACHE/bin/.wrapper.XXXXXX")
	sed "s|@REAL_QEMU@|$real|" "$HERE/qemu-tcg-wrapper.sh" >"$tmp"
	chmod 0755 "$tmp"
	if cmp -s "$tmp" "$CACHE/bin/qemu-system-x86_64"; then
		rm -f "$tmp"
	else
		mv -f "$tmp" "$CACHE/bin/qemu-system-x86_64"
	fi
	timing qemu-wrapper "$t"
}

lima_hash() { recipe_hash build_lima "$LIMA_MODULE@$LIMA_VERSION"; }

lima_ok() {
	[[ -x $CACHE/lima/bin/limactl && -f $CACHE/lima/share/lima/lima-guestagent.Linux-x86_64 ]] &&
		stamp_ok "$CACHE/lima" "$(lima_hash)" &&
		[[ $("$CACHE/lima/bin/limactl" --version 2>/dev/null) == *"${LIMA_VERSION#v}"* ]]
}

# step_lima runs in the background on a cold machine (it competes only for CPU,
# the image build mostly waits on the network and the disk).
step_lima() {
	local t tmp hash
	t=$(now_us)
	hash=$(lima_hash)
	tmp=$(mktemp -d "$CACHE/lima.tmp.XXXXXX")
	build_lima "$tmp"
	printf 'recipe=%s\nlima=%s\ngo=%s\nbuilt=%s\n' "$hash" "$LIMA_VERSION" "$(go env GOVERSION)" "$(date -u +%FT%TZ)" >"$tmp/.rdd-e2e-stamp"
	install_into_place "$tmp" "$CACHE/lima"
	timing lima-build "$t" "$LIMA_VERSION"
}

image_hash() { recipe_hash build_image "$IMAGE_SUITE" "$IMAGE_FS_SIZE" "${IMAGE_PACKAGES[*]}"; }

image_ok() {
	local f
	for f in disk.qcow2 vmlinuz initrd.img; do [[ -f $CACHE/image/$f ]] || return 1; done
	stamp_ok "$CACHE/image" "$(image_hash)"
}

step_image() {
	local t tmp hash mirror
	t=$(now_us)
	need_root "building the guest image (debootstrap)"
	hash=$(image_hash)
	mirror=$(host_mirror)
	log "building the $IMAGE_SUITE guest image from $mirror"
	tmp=$(mktemp -d "$CACHE/image.tmp.XXXXXX")
	build_image "$tmp" "$mirror"
	printf 'recipe=%s\nsuite=%s\nkernel=%s\nbuilt=%s\n' "$hash" "$IMAGE_SUITE" "$(cat "$tmp/kernel-release")" "$(date -u +%FT%TZ)" >"$tmp/.rdd-e2e-stamp"
	chmod 0755 "$tmp"
	install_into_place "$tmp" "$CACHE/image"
	timing image-build "$t"
}

# ---------------------------------------------------------------- main

LIMA_PID=""
# A background Lima build must not outlive an interrupted setup.
stop_background() {
	if [[ -n $LIMA_PID ]] && kill -0 "$LIMA_PID" 2>/dev/null; then
		kill -- "-$LIMA_PID" 2>/dev/null || true # its own process group (set -m below)
	fi
}

main() {
	local t0 lima_log
	t0=$(now_us)
	trap stop_background EXIT
	trap 'exit 130' INT TERM

	mkdir -p "$CACHE"
	chmod 0755 "$CACHE"
	# One setup at a time per cache.
	exec 9>"$CACHE/.lock"
	flock 9
	# Leftovers of an interrupted run.
	rm -rf "$CACHE"/lima.tmp.* "$CACHE"/image.tmp.* "$CACHE"/lima.old.* "$CACHE"/image.old.*

	if rebuild_requested lima || ! lima_ok; then
		command -v go >/dev/null || die "go is needed to build Lima"
		lima_log=$CACHE/lima-build.log
		log "building Lima $LIMA_VERSION in the background (log: $lima_log)"
		set -m # own process group, so an interrupted setup can stop the whole build
		step_lima >"$lima_log" 2>&1 &
		LIMA_PID=$!
		set +m
	else
		timing lima-build "$(now_us)" "cached: $("$CACHE/lima/bin/limactl" --version)"
	fi

	step_packages
	step_user
	step_wrapper
	if rebuild_requested image || ! image_ok; then
		step_image
	else
		timing image-build "$(now_us)" "cached: $(sed -n 's/^kernel=//p' "$CACHE/image/.rdd-e2e-stamp")"
	fi

	if [[ -n $LIMA_PID ]]; then
		if ! wait "$LIMA_PID"; then
			cat "$lima_log" >&2
			die "building Lima failed (log above)"
		fi
		grep '^rdd-e2e setup: TIMING' "$lima_log" >&2 || true
		rm -f "$lima_log"
		LIMA_PID=""
		lima_ok || die "Lima was built but does not check out"
	fi

	timing total "$t0"

	cat <<-EOF
		export PATH="$CACHE/lima/bin:$CACHE/bin:\$PATH"
		export RDD_LIMACTL="$CACHE/lima/bin/limactl"
		export QEMU_SYSTEM_X86_64="$CACHE/bin/qemu-system-x86_64"
		export RDD_E2E_IMAGE_DIR="$CACHE/image"
		export RDD_E2E_USER="$E2E_USER"
		export RDD_E2E_CACHE="$CACHE"
	EOF
}

main "$@"
