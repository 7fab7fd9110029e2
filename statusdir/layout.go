package statusdir

// Names of the files and directories under status/. See the package
// documentation for the layout.
const (
	AppFile       = "app.yaml"       // the whole picture, an App
	ReadyMarker   = "ready"          // verdict marker: the current digest is reconciled
	FailedMarker  = "failed"         // verdict marker: the current digest cannot be reconciled
	ContainersDir = "containers"     // one object file per container
	ImagesDir     = "images"         // one object file per image tag (dangling images by short ID)
	VolumesDir    = "volumes"        // one object file per volume
	NamespacesDir = "namespaces"     // one object file per engine namespace
	MobyNamespace = "moby"           // namespaces/moby.yaml
	EventsFile    = "events.jsonl"   // what happened, one JSON Event a line, appended
	EventsOldFile = "events.jsonl.1" // the events before the last rotation
)

const (
	// ObjectExt is the extension of every object file: ObjectFile(name)
	// is EncodeName(name) + ObjectExt.
	ObjectExt = ".yaml"

	// MaxEncodedLen bounds the length of EncodeName's result in bytes.
	MaxEncodedLen = 200

	// maxReadSize bounds the size of a status file a reader accepts.
	maxReadSize = 4 << 20

	dirMode  = 0o700
	fileMode = 0o600
)
