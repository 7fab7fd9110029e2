// Package desired reads the desired state of an rdd home as a set of files:
// desired.yaml, then every fragment $RDD_HOME/desired.d/*.yaml applied over
// it in lexical order of file name (DESIGN section 14). It is the one place
// that knows that layout; the daemon, `rdd set`, `rdd wait`, `rdd confirm`,
// `rdd plan`, `rdd get` and the history all read a [Set] through [Read] and
// name it by [Set.Digest].
//
// It is a package of its own, not part of schema, because schema stays a
// function of bytes (it merges and validates layers it is given, keeping
// every value's file, line and column: schema.ParseLayers), while this
// package is about the filesystem: which names are fragments, reading each
// through schema.Read, the digest, and the copy of a set the daemon keeps.
//
// # Fragments
//
// A fragment is an entry of desired.d/ whose name ends in .yaml and does
// not start with a dot, and that is not an editor's temporary or backup
// file (watch.Ignored, the same names the daemon's watch ignores): a
// regular file, or a symlink to one. Other entries are ignored. Merging:
// mappings merge key by key, a later scalar or list replaces an earlier
// one, and a YAML null (`key:` or `key: null`) removes the key so its
// default applies; a fragment that is empty or holds only comments
// changes nothing. desired.yaml may be missing when a fragment exists.
//
// # Digest
//
// With no fragment (desired.d/ missing, or no fragment in it) the digest is
// that of DESIGN section 2, "sha256:" and the hex SHA-256 of desired.yaml's
// bytes, so existing waiters and scripts keep working. With fragments it is
// "sha256:" and the hex SHA-256 of one line per file, sorted by name as
// bytes:
//
//	NAME 0x00 HEX 0x0A
//
// where NAME is the file's name relative to the home ("desired.yaml" for
// the desired file, wherever --desired points; "desired.d/20-work.yaml" for
// a fragment, whatever a symlink points at) and HEX the lowercase hex
// SHA-256 of its bytes. A missing desired.yaml has no line. In shell:
//
//	cd ~/.rd && for f in desired.d/*.yaml desired.yaml; do
//	  printf '%s\0%s\n' "$f" "$(sha256sum < "$f" | cut -d' ' -f1)"; done |
//	  LC_ALL=C sort | sha256sum
//
// (LC_ALL=C sort orders these lines as bytes; it is the same order as
// sorting the names, since no name holds a NUL.)
package desired
