// Package schema loads desired.yaml and checks it against rdd's CUE schema.
//
// The schema (desired.cue, embedded) is the only place that names fields,
// types, enums, bounds and defaults. This package reads the user's bytes
// defensively (size cap, encoding, file type), parses YAML into nodes that
// keep line and column, and walks those nodes alongside the schema so that
// every problem in the file is reported at once, each with its position and
// a message written for a person rather than CUE's internal wording.
//
// Choices where the design is silent:
//   - A YAML null (`vm:` with nothing after it) means "not set": the
//     schema's default applies, as if the key were absent.
//   - Anchors and aliases are allowed; expanding them is capped so an
//     alias bomb is an error, not a hang. Merge keys (`<<`) are rejected
//     with a hint to write the fields out.
//   - A UTF-8 byte order mark is accepted; UTF-16 and invalid UTF-8 are not.
//   - containerEngine.socket left empty means the driver's default socket,
//     which depends on the environment (RDD_HOME, DOCKER_HOST) rather than
//     on the file.
//   - vm.mountType defaults by vm.type as Lima does: reverse-sshfs for
//     qemu, virtiofs for vz, and wsl2 for wsl2 (WSL shares the Windows
//     drives itself), so wsl2 is a fourth allowed value.
//   - A mount's location is an absolute path or starts with ~; a Windows
//     path (C:\Users\x) is refused, as Lima could not carry it.
//     mountPoint "" means the same path in the guest.
//   - Two port forwards on the same hostIP, hostPort and proto are an
//     error at the second, after defaults (hostPort = guestPort, hostIP
//     127.0.0.1) are applied.
//   - vm.caCerts paths are absolute or start with ~/. Whether each file
//     exists and holds a certificate is checked by CheckFiles (Load and the
//     daemon call it), not by Parse, which stays a function of the bytes.
//   - containerEngine.config refuses the daemon.json keys rdd writes itself
//     (registry-mirrors, insecure-registries, proxies, http-proxy,
//     https-proxy, no-proxy, hosts), naming the field to use instead.
package schema
