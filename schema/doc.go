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
package schema
