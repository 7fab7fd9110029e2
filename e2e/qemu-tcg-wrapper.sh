#!/usr/bin/env bash
# qemu-system-x86_64 stand-in for rdd's real-VM e2e runs (installed by
# e2e/setup.sh, which replaces @REAL_QEMU@ with the real binary's path).
#
# Lima always asks QEMU for KVM on a Linux host of the guest's architecture
# (`-machine q35,accel=kvm`, `-cpu host`). The CI and developer machines have
# no usable KVM, so this wrapper turns such a command line into the one Lima
# itself builds for software emulation (TCG):
#
#   -machine q35,accel=kvm       -> -machine q35,vmport=off -accel tcg,thread=multi,tb-size=512
#   -accel kvm / -enable-kvm     -> -accel tcg,thread=multi,tb-size=512
#   -cpu host[,...]              -> -cpu max[,...]
#   -netdev user,...             -> -netdev user,...,restrict=on
#
# restrict=on isolates the guest: it reaches nothing on the host or beyond, and
# is reached only through the hostfwd rules (Lima's SSH port on loopback) and
# the virtio serial channel of the guest agent.
#
# RDD_E2E_QEMU_ACCEL=kvm passes the command line through unchanged (for a
# machine where KVM works); RDD_E2E_QEMU_NET_RESTRICT=0 leaves the network
# unrestricted.
set -euo pipefail

real_qemu=@REAL_QEMU@

if [[ ${RDD_E2E_QEMU_ACCEL:-tcg} == kvm ]]; then
	exec "$real_qemu" "$@"
fi

tcg_accel=tcg,thread=multi,tb-size=512
args=()
have_accel=0
booting=0 # a real boot (not Lima's `-M none -accel help` probes)
while (($#)); do
	a=$1
	shift
	case $a in
	-enable-kvm)
		args+=(-accel "$tcg_accel")
		have_accel=1
		continue
		;;
	-machine | -M | -accel | -cpu | -netdev)
		if (($# == 0)); then
			args+=("$a")
			continue
		fi
		v=$1
		shift
		case $a in
		-machine | -M)
			if [[ $v == *accel=* ]]; then
				# drop the accel property, keep the machine; Lima's TCG form
				v=$(sed -E 's/(^|,)accel=[^,]*//; s/^,//' <<<"$v")
				[[ $v == q35* && $v != *vmport=* ]] && v+=,vmport=off
				booting=1
				if ((!have_accel)); then
					args+=(-accel "$tcg_accel")
					have_accel=1
				fi
			fi
			;;
		-accel)
			if [[ $v == kvm* ]]; then
				v=$tcg_accel
			fi
			if [[ $v == tcg* ]]; then
				if ((have_accel)); then continue; fi
				have_accel=1
			fi
			;;
		-cpu)
			[[ $v == host* ]] && v=max${v#host}
			;;
		-netdev)
			if [[ $v == user,* && $v != *restrict=* && ${RDD_E2E_QEMU_NET_RESTRICT:-1} != 0 ]]; then
				v+=,restrict=on
			fi
			;;
		esac
		args+=("$a" "$v")
		;;
	*)
		args+=("$a")
		;;
	esac
done

if ((booting)); then
	# Lima keeps QEMU's stderr in the instance's ha.stderr.log: record what ran.
	echo "rdd-e2e qemu wrapper: exec $real_qemu ${args[*]}" >&2
fi
exec "$real_qemu" "${args[@]}"
