package guestconfig

import (
	"slices"
	"strconv"
	"strings"
)

// reload2010 are the daemon.json keys dockerd 20.10 applies on SIGHUP:
// moby v20.10.27 daemon/reload.go (Daemon.Reload and its reload* steps),
// daemon/reload_unix.go (reloadPlatform) and cmd/dockerd/daemon.go
// (reloadConfig, for authorization-plugins).
var reload2010 = []string{
	"allow-nondistributable-artifacts", "authorization-plugins",
	"cluster-advertise", "cluster-store", "cluster-store-opts",
	"debug", "default-cgroupns-mode", "default-ipc-mode", "default-runtime", "default-shm-size",
	"features", "insecure-registries", "labels", "live-restore",
	"max-concurrent-downloads", "max-concurrent-uploads", "max-download-attempts",
	"network-diagnostic-port", "registry-mirrors", "runtimes", "shutdown-timeout",
}

// reloadCurrent are the keys current moby reloads (v28.5.2, the same
// files): the cluster discovery keys and allow-nondistributable-artifacts
// are gone.
var reloadCurrent = []string{
	"authorization-plugins",
	"debug", "default-cgroupns-mode", "default-ipc-mode", "default-runtime", "default-shm-size",
	"features", "insecure-registries", "labels", "live-restore",
	"max-concurrent-downloads", "max-concurrent-uploads", "max-download-attempts",
	"network-diagnostic-port", "registry-mirrors", "runtimes", "shutdown-timeout",
}

// Reloadable reports whether dockerd of version (as `dockerd --version`
// prints it, or "" when not known) applies key on SIGHUP. An unknown
// version gets the keys both lists share, so that a key is never reloaded
// on a dockerd that would ignore it.
func Reloadable(key, version string) bool {
	major, ok := majorVersion(version)
	switch {
	case !ok:
		return slices.Contains(reload2010, key) && slices.Contains(reloadCurrent, key)
	case major < 23:
		return slices.Contains(reload2010, key)
	}
	return slices.Contains(reloadCurrent, key)
}

// HasValidate reports whether dockerd of version has `--validate` (added
// in v23.0.0, cmd/dockerd/options.go).
func HasValidate(version string) bool {
	major, ok := majorVersion(version)
	return ok && major >= 23
}

// majorVersion reads the major version out of "Docker version 20.10.24+dfsg1, build 297e128"
// or a bare "20.10.24".
func majorVersion(v string) (int, bool) {
	v = strings.TrimSpace(v)
	if i := strings.Index(v, "version "); i >= 0 {
		v = v[i+len("version "):]
	}
	v = strings.TrimPrefix(v, "v")
	head, _, _ := strings.Cut(v, ".")
	n, err := strconv.Atoi(head)
	return n, err == nil && n > 0
}
