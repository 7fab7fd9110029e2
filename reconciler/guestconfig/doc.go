// Package guestconfig applies the engine's configuration inside a running
// Lima guest (DESIGN section 11): registry mirrors, insecure registries and
// further daemon.json keys, the engine's proxy, and CA certificates. Lima
// cannot change these without restarting the VM (it renders its guest
// configuration only when an instance starts), while dockerd re-reads its
// registry settings on SIGHUP: so rdd writes the guest's files itself
// through `limactl shell`, and reloads or restarts only the engine.
//
// The policy is pure and tested as tables: Want derives what the guest
// must hold from the desired state, Effects says what each changed key
// costs (reload or engine-restart, by dockerd's reload list for the
// guest's dockerd version), and decide picks the least disruptive action.
// Applier carries it out: write, check, reload or restart, verify with
// `docker info`, and put the last good daemon.json back when dockerd
// refuses the new one.
//
// What the guest's contract was checked against (Lima v1.2.2, moby
// v20.10.27 and v28.5.2, Debian bookworm's docker.io 20.10.24):
//   - dockerd reads /etc/docker/daemon.json; Debian's unit starts it with
//     `-H fd://` and `--containerd=...`, so `hosts` and `containerd` in
//     daemon.json stop it ("specified both as a flag and in the
//     configuration file"); the schema refuses `hosts`, and Want refuses
//     `containerd`.
//   - ExecReload is `kill -s HUP $MAINPID`: `systemctl reload docker`. A
//     refused reload keeps the old configuration and logs
//     "unable to configure the Docker daemon with file ..." (or
//     "Error reconfiguring the daemon"); a good one logs
//     "Reloaded configuration".
//   - `dockerd --validate` exists from v23 on; 20.10 has none.
//   - dockerd under systemd does not read /etc/environment: its proxy is a
//     drop-in with Environment= lines, then daemon-reload and a restart.
//   - containerd reads /etc/containerd/certs.d/<host>/hosts.toml at each
//     pull, without a restart; nerdctl reads that directory by default.
package guestconfig
