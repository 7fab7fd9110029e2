package statusdir

import "time"

// ContainerFile is the content of status/containers/<name>.yaml: what
// `docker inspect` shows of a container that a user cares about.
type ContainerFile struct {
	ID      string `yaml:"id" json:"id"`
	Name    string `yaml:"name" json:"name"`
	Image   string `yaml:"image" json:"image"`     // the reference the container was created from
	ImageID string `yaml:"imageID" json:"imageID"` // the image it runs
	// State is one of created, running, paused, restarting, removing,
	// exited, dead. Any other value is copied as it is and explained in
	// Problem (S9).
	State    string            `yaml:"state" json:"state"`
	ExitCode int               `yaml:"exitCode" json:"exitCode"`
	Error    string            `yaml:"error,omitempty" json:"error,omitempty"`   // the engine's error starting or running it
	Health   string            `yaml:"health,omitempty" json:"health,omitempty"` // starting, healthy or unhealthy, with a healthcheck
	Ports    []Port            `yaml:"ports,omitempty" json:"ports,omitempty"`   // sorted by port number, then protocol
	Labels   map[string]string `yaml:"labels,omitempty" json:"labels,omitempty"`
	Created  time.Time         `yaml:"created" json:"created"`
	Started  time.Time         `yaml:"started,omitempty" json:"started,omitempty"`
	Finished time.Time         `yaml:"finished,omitempty" json:"finished,omitempty"`
	Problem  string            `yaml:"problem,omitempty" json:"problem,omitempty"` // set when something observed is not understood
	// Truncated names the fields whose values the writer cut short to
	// keep the file below MaxFileSize (labels, error, ports); a cut value
	// ends with a note of its full length.
	Truncated []string `yaml:"truncated,omitempty" json:"truncated,omitempty"`
	// Declaration is set for a container that desired.yaml declares.
	Declaration `yaml:",inline"`
}

// Port is one container port: exposed, configured for publishing, or
// published. Bindings are the host addresses it is published on right now
// (only while the container runs), sorted by host IP, then host port.
type Port struct {
	Name     string    `yaml:"name" json:"name"` // port/protocol, such as 80/tcp
	Bindings []Binding `yaml:"bindings,omitempty" json:"bindings,omitempty"`
}

// Binding is one host address a container port is published on.
type Binding struct {
	HostIP   string `yaml:"hostIP" json:"hostIP"`
	HostPort string `yaml:"hostPort" json:"hostPort"`
}

// ImageFile is the content of status/images/<name>.yaml: one file per tag,
// and one per image without a tag, named by its short ID.
type ImageFile struct {
	ID          string            `yaml:"id" json:"id"`
	Tag         string            `yaml:"tag,omitempty" json:"tag,omitempty"` // empty for an image without tags
	RepoDigests []string          `yaml:"repoDigests,omitempty" json:"repoDigests,omitempty"`
	Size        int64             `yaml:"size" json:"size"`
	Created     time.Time         `yaml:"created" json:"created"`
	Labels      map[string]string `yaml:"labels,omitempty" json:"labels,omitempty"`
	Truncated   []string          `yaml:"truncated,omitempty" json:"truncated,omitempty"` // fields cut short, as in ContainerFile
	// Declaration is set for a tag that desired.yaml declares.
	Declaration `yaml:",inline"`
}

// VolumeFile is the content of status/volumes/<name>.yaml.
type VolumeFile struct {
	Name       string            `yaml:"name" json:"name"`
	Driver     string            `yaml:"driver" json:"driver"`
	Scope      string            `yaml:"scope,omitempty" json:"scope,omitempty"`
	Mountpoint string            `yaml:"mountpoint" json:"mountpoint"`
	Labels     map[string]string `yaml:"labels,omitempty" json:"labels,omitempty"`
	Truncated  []string          `yaml:"truncated,omitempty" json:"truncated,omitempty"` // fields cut short, as in ContainerFile
	Created    time.Time         `yaml:"created,omitempty" json:"created,omitempty"`
	// Declaration is set for a volume that desired.yaml declares.
	Declaration `yaml:",inline"`
}

// NamespaceFile is the content of status/namespaces/moby.yaml: dockerd has
// one namespace, and this file says how much it holds.
type NamespaceFile struct {
	Name       string `yaml:"name" json:"name"`
	Containers int    `yaml:"containers" json:"containers"`
	Images     int    `yaml:"images" json:"images"` // distinct images, tagged or not
	Volumes    int    `yaml:"volumes" json:"volumes"`
}

// Declaration is what the file of a declared object adds to what the
// engine shows of it: that it is declared, its declared state, one
// condition saying whether it is in that state and why not, and, for
// containers, how often rdd brought it back after it left that state. The
// fields are left out of the files of undeclared objects. Nothing in it
// changes from one pass to the next unless the object or its declaration
// does, so a settled object's file is never rewritten.
type Declaration struct {
	Declared  bool             `yaml:"declared,omitempty" json:"declared,omitempty"`
	Desired   string           `yaml:"desired,omitempty" json:"desired,omitempty"` // the state desired.yaml declares
	Condition *ObjectCondition `yaml:"condition,omitempty" json:"condition,omitempty"`
	// Corrections counts the actions rdd took on a container of this name
	// after the first one that brought it to its declared state (under the
	// current declaration, since the daemon started): each is an
	// out-of-band change undone (a `docker stop` of a container declared
	// running), or a container that left its state by itself (it died).
	Corrections    int       `yaml:"corrections,omitempty" json:"corrections,omitempty"`
	LastCorrection time.Time `yaml:"lastCorrection,omitempty" json:"lastCorrection,omitempty"`
}

// ObjectCondition says whether a declared object is in its declared state:
// status True (it is), Unknown (on its way: a pull, a restart, a backoff),
// or False (it cannot get there as things stand; the failed marker names
// it). Reason is one word (the Reason* constants), Message the detail.
type ObjectCondition struct {
	Status  string `yaml:"status" json:"status"`
	Reason  string `yaml:"reason" json:"reason"`
	Message string `yaml:"message,omitempty" json:"message,omitempty"`
}

// MissingFile is the file of a declared object that the engine does not
// have: a container declared but not created (reason NotFound), a volume
// whose creation failed, an image being pulled. Containers and volumes
// carry their name, images their tag, as the files of existing objects do.
// Objects declared absent and gone have no file.
type MissingFile struct {
	Name        string `yaml:"name,omitempty" json:"name,omitempty"`
	Tag         string `yaml:"tag,omitempty" json:"tag,omitempty"`
	Declaration `yaml:",inline"`
}
