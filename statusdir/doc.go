// Package statusdir owns rdd's status directory, $RDD_HOME/status/: its
// layout, atomic writes that skip unchanged bytes, the verdict markers, and
// the read and wait API that the CLI uses.
//
// The daemon is the only writer; everything else only reads. The layout is
// documented here once, and every name in it is a constant of this package:
//
//	status/                      mode 0700; every directory below is 0700 and every file 0600
//	  app.yaml                   AppFile: the whole picture, an [App]
//	  ready | failed             ReadyMarker, FailedMarker: the verdict for the current
//	                             digest, a [Marker]; one of them, or none while in progress
//	  containers/<name>.yaml     ContainersDir: one file per container, declared or not, a [ContainerFile]
//	  images/<name>.yaml         ImagesDir: one per tag, an [ImageFile]; dangling images by short ID
//	  volumes/<name>.yaml        VolumesDir: one per volume, a [VolumeFile]
//	  namespaces/moby.yaml       NamespacesDir, MobyNamespace: a [NamespaceFile]
//	  events.jsonl               EventsFile: what happened, one JSON [Event] a line
//	  events.jsonl.1             EventsOldFile: the lines before the last rotation
//
// # The status contract
//
// This package is the one place that declares what the files contain: the
// types of every file (types.go for app.yaml and the markers, objects.go for
// the object files), and every condition type and reason (conditions.go).
// The drivers fill these types and the CLI reads them; neither declares a
// status type or a reason of its own, and a reason is never written as a
// bare string literal elsewhere (a test checks the sources).
//
// app.yaml holds one condition of each type: [CondValid] (the desired file
// parses and validates), [CondRunning] (the VM, with a VM* reason),
// [CondEngine] (the container engine, with an Engine* reason), [CondSettled]
// (the verdict) and [CondKubernetes]. A declared object's file adds a
// [Declaration]: its declared state and an [ObjectCondition] whose reason is
// one of the reasons of declared objects ([ReasonInState], [ReasonNotFound],
// ...). A declared object the engine does not have gets a [MissingFile]. The
// failed marker carries the reason of what failed: one of the above.
//
// # Writes
//
// [Dir] is the daemon's writer. Every write is atomic: the bytes go to a
// temporary file in the same directory (named with atomicfile.TempPrefix, so that
// [Open] can remove the ones a crashed writer left behind), which is synced,
// closed and renamed over the target, and then the directory itself is
// synced. A write whose bytes equal the file's current bytes does nothing at
// all, not even touch the modification time, so a no-op resync wakes no
// watcher. A reader therefore never sees a torn or empty file.
//
// To tell that a file is unchanged without reading it, [Dir] remembers the
// SHA-256 of what it last wrote or verified in each file, with the file's
// identity from Lstat: device, inode, mode, size, modification time and
// change time. While that identity holds, so do the bytes, since even a file
// rewritten in place with its modification time put back gets a new change
// time. A file changed within the last two seconds (timestamps are coarse),
// or one Dir knows nothing of, is compared byte by byte. Directory listings
// are remembered the same way, keyed by the directory's identity. Nothing is
// remembered across a restart. A no-op pass over unchanged files thus costs
// one Lstat per file.
//
// The writer never follows a symbolic link planted inside status/: a link,
// or any other entry of the wrong type, found where a file or a directory
// belongs is replaced by a real one. The root directory itself must not be a
// symbolic link.
//
// The order within a reconcile pass is: object files first ([Dir.SyncMirror]),
// then app.yaml, then the pass's events ([EventLog.Append]), then the
// marker ([Dir.SetVerdict]) last, so that a waiter
// that sees a marker also sees the state it describes.
//
// # Events
//
// events.jsonl is the one file that is appended to rather than replaced
// ([Dir.AppendEvents]): each batch of complete lines goes out in one write
// with O_APPEND, so a reader that takes only complete lines never sees half
// of one. When a batch would take the file past 1 MiB it is first renamed to
// events.jsonl.1 (replacing the one before). A deleted events.jsonl is not
// restored: the next batch starts a new one. [ReadEvents] reads both files,
// oldest first; [FollowEvents] then follows new lines with fsnotify, across
// rotations, never losing or repeating one.
//
// # Object file names
//
// Object names (container names, image tags, volume names) come from the
// engine and may contain anything. [EncodeName] maps a name to a file name
// that is readable, reversible, safe and free of collisions, also on
// case-insensitive file systems:
//
//   - bytes in [a-z0-9_.-] stay as they are, except a leading ".";
//   - an upper-case ASCII letter X becomes "^x";
//   - every other byte, including a leading ".", becomes "%XX" (upper-case hex).
//
// So "web" stays "web", "My_Vol" becomes "^my_^vol", and "busybox:1.36"
// becomes "busybox%3A1.36". An encoding longer than [MaxEncodedLen] bytes is
// cut: the encoding of a prefix of the name, then "~" and the first 16 hex
// digits of the SHA-256 of the whole name. Such a name cannot be decoded
// ([ErrTruncatedName]); readers take the name from the file's own name field.
// [ObjectFile] adds the ".yaml" extension.
//
// # Reading and waiting
//
// [ReadApp], [ReadMarker] and [ReadSnapshot] read the files; a missing file
// is an error that matches [io/fs.ErrNotExist]. [Watch] calls a check
// function with a fresh [Snapshot] first and then after every change in the
// directory, driven by fsnotify rather than polling.
package statusdir
