#!/usr/bin/env bash
# e2e/engineconfig.sh: the engine configuration of DESIGN section 11 on a
# real, already booted Lima VM that `rdd daemon` drives. e2e/run.sh calls it
# in its VM phase, after the cold start is ready and before it stops the VM:
#
#   RDD_HOME=$RDD_HOME LIMA_HOME=$LIMA_HOME RDD_E2E_HELLO_TAR=$work/hello.tar \
#     bash "$work/engineconfig.sh"
#
# as the (non-root) user who owns the VM, with rdd, docker and limactl
# ($RDD_LIMACTL, else on PATH) on PATH. It boots no VM itself except for
# the port forward (the one vm-restart key checked here; skipped with
# RDD_E2E_SKIP_FORWARD=1). It checks, and times against the bare operation:
#   1. registry mirror + insecure registry -> ready within 20 s; dockerd's
#      PID and the guest's boot id unchanged; `docker info` through the
#      forwarded socket lists both (bare: `limactl shell rd sudo kill -HUP`);
#   2. a config value dockerd refuses -> `failed` quoting dockerd, the
#      engine still answering on its old configuration;
#   3. a proxy -> dockerd restarted (new PID), the VM not (same boot id)
#      (bare: `systemctl restart docker`);
#   4. a port forward to a container publishing a port in the guest: an
#      HTTP request from the host's loopback reaches it.
set -euo pipefail

log() { printf '%s engineconfig: %s\n' "$(date +%T)" "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }
now_ms() { echo $(( ${EPOCHREALTIME/./} / 1000 )); }
timing() { log "$(printf 'TIMING %-34s %7.1fs' "$1" "$(( $(now_ms) - $2 ))e-3")"; }

: "${RDD_HOME:?RDD_HOME must name the home of the running rdd daemon}"
export LIMA_HOME=${LIMA_HOME:-$RDD_HOME/lima}
limactl=${RDD_LIMACTL:-limactl}
sock=$RDD_HOME/docker.sock
guest() { "$limactl" shell --workdir / rd sudo "$@"; }
dockerd_pid() { guest systemctl show -p MainPID --value docker | tr -d '\r'; }
boot_id() { guest cat /proc/sys/kernel/random/boot_id | tr -d '\r'; }
registry_config() { docker -H "unix://$sock" info --format '{{json .RegistryConfig}}'; }

grep -q 'summary: Current' "$RDD_HOME/status/app.yaml" || die "rdd is not ready; run this on a booted VM"
pid0=$(dockerd_pid) boot0=$(boot_id)
[[ $pid0 =~ ^[1-9][0-9]*$ ]] || die "no dockerd PID in the guest: $pid0"
log "dockerd PID $pid0, boot $boot0"

# The bare operations, for comparison.
t=$(now_ms); guest kill -HUP "$pid0"; timing "bare: kill -HUP dockerd" "$t"

# 1. Registry mirror and insecure registry: a reload.
t=$(now_ms)
rdd set --timeout 20s 'containerEngine.registryMirrors=["https://mirror.rdd-e2e.invalid:5000"]' \
	'containerEngine.insecureRegistries=["registry.rdd-e2e.invalid:5000"]' ||
	die "mirrors and insecure registries were not ready within 20 s"
timing "rdd: mirror + insecure (reload)" "$t"
[[ $(dockerd_pid) == "$pid0" ]] || die "dockerd was restarted (PID $pid0 -> $(dockerd_pid)), not reloaded"
[[ $(boot_id) == "$boot0" ]] || die "the VM rebooted"
rc=$(registry_config)
grep -q '"https://mirror.rdd-e2e.invalid:5000/"' <<<"$rc" || die "docker info does not list the mirror: $rc"
grep -q '"registry.rdd-e2e.invalid:5000":{[^}]*"Secure":false' <<<"$rc" || die "docker info does not list the insecure registry: $rc"
grep -q 'https://mirror.rdd-e2e.invalid:5000/' "$RDD_HOME/status/app.yaml" || die "app.yaml engine.config does not show the mirror"
log "reload: dockerd PID unchanged, docker info lists both"

# 2. A value dockerd refuses: failed, quoting dockerd; the engine answers on
# its old configuration.
t=$(now_ms)
if out=$(rdd set --timeout 2m 'containerEngine.config={max-concurrent-downloads: "lots"}' 2>&1); then
	die "an invalid max-concurrent-downloads was accepted: $out"
fi
timing "rdd: refused config (rollback)" "$t"
grep -q 'ConfigRefused' <<<"$out" || die "not failed with ConfigRefused: $out"
grep -qi 'unable to configure the Docker daemon\|cannot unmarshal' <<<"$out" || die "dockerd's message is not quoted: $out"
rc=$(registry_config) || die "the engine does not answer after the refusal"
grep -q 'mirror.rdd-e2e.invalid' <<<"$rc" || die "the engine lost its last good configuration: $rc"
guest cat /etc/docker/daemon.json | grep -q lots && die "the refused daemon.json was left in place"
rdd set --timeout 2m 'containerEngine.config={}' || die "removing the bad value did not become ready"
log "refusal: failed with dockerd's message, the engine kept its configuration"

# 3. A proxy: the engine restarts, the VM does not.
pid1=$(dockerd_pid)
t=$(now_ms); guest systemctl restart docker; timing "bare: systemctl restart docker" "$t"
pid1=$(dockerd_pid)
t=$(now_ms)
rdd set --timeout 2m vm.proxy.http=http://localhost:3128 'vm.proxy.noProxy=["localhost", ".invalid"]' ||
	die "the proxy did not become ready"
timing "rdd: proxy (engine restart)" "$t"
[[ $(dockerd_pid) != "$pid1" ]] || die "dockerd was not restarted for the proxy"
[[ $(boot_id) == "$boot0" ]] || die "the VM rebooted for the proxy"
guest cat /proc/"$(dockerd_pid)"/environ | tr '\0' '\n' | grep -qx 'HTTP_PROXY=http://host.lima.internal:3128' ||
	die "dockerd does not run with the proxy"
rdd set --timeout 2m 'vm.proxy.http=' 'vm.proxy.noProxy=[]' || die "removing the proxy did not become ready"
log "proxy: dockerd restarted with HTTP_PROXY, VM not rebooted"

# 4. A port forward (a VM restart: Lima's host agent reads its rules only
# when it starts).
if [[ ${RDD_E2E_SKIP_FORWARD:-} == 1 ]]; then
	log "port forward skipped (RDD_E2E_SKIP_FORWARD=1)"
	exit 0
fi
[[ -r ${RDD_E2E_HELLO_TAR:-} ]] || die "RDD_E2E_HELLO_TAR must name the hello image tar (e2e/testdata/hello)"
docker -H "unix://$sock" image inspect rdd-e2e-hello:1 >/dev/null 2>&1 ||
	docker -H "unix://$sock" import --change 'ENTRYPOINT ["/hello"]' "$RDD_E2E_HELLO_TAR" rdd-e2e-hello:1 >/dev/null
t=$(now_ms)
rdd set --timeout "${RDD_E2E_TIMEOUT:-25m}" \
	'vm.portForwards=[{guestPort: 18081, hostPort: 28081, hostIP: 127.0.0.1, proto: tcp}]' ||
	die "the port forward did not become ready"
timing "rdd: port forward (vm restart)" "$t"
docker -H "unix://$sock" rm -f rdd-e2e-serve >/dev/null 2>&1 || true
docker -H "unix://$sock" run -d --name rdd-e2e-serve -p 18081:8080 rdd-e2e-hello:1 -serve :8080 >/dev/null
for _ in $(seq 1 60); do
	if out=$(curl -fsS --max-time 2 http://127.0.0.1:28081/ 2>/dev/null) && [[ $out == *hello* ]]; then
		break
	fi
	sleep 1
done
[[ ${out:-} == *hello* ]] || die "http://127.0.0.1:28081/ on the host did not reach the container"
grep -q '127.0.0.1:28081->18081/tcp' "$RDD_HOME/status/app.yaml" || die "app.yaml vm.portForwards does not list the forward"
docker -H "unix://$sock" rm -f rdd-e2e-serve >/dev/null
log "port forward: the host's 127.0.0.1:28081 reaches the container's port in the guest"
