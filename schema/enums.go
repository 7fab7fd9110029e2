package schema

// The enum values of desired.cue, as constants for Go code that compares
// against them. They are untyped so that they compare with the string fields
// of Desired directly. enumTable lists them by field path; a test checks it
// against every enum of the schema, both ways, so a value added to or
// removed from desired.cue fails `go test ./schema/` until it is added here.
const (
	// vm.driver
	DriverLima = "lima"
	DriverHost = "host"

	// vm.type
	VMTypeQEMU = "qemu"
	VMTypeVZ   = "vz"
	VMTypeWSL2 = "wsl2"

	// vm.mountType
	MountTypeReverseSSHFS = "reverse-sshfs"
	MountType9P           = "9p"
	MountTypeVirtioFS     = "virtiofs"
	MountTypeWSL2         = "wsl2"

	// vm.portForwards[].proto
	ProtoTCP = "tcp"
	ProtoUDP = "udp"

	// vm.provision[].mode
	ProvisionSystem = "system"
	ProvisionUser   = "user"

	// vm.recreate
	RecreateConfirm = "confirm"
	RecreateAllow   = "allow"

	// containerEngine.name
	EngineMoby       = "moby"
	EngineContainerd = "containerd"

	// containers.NAME.state
	ContainerRunning = "running"
	ContainerStopped = "stopped"
	ContainerPaused  = "paused"
	ContainerAbsent  = "absent"

	// volumes.NAME.state
	VolumePresent = "present"
	VolumeAbsent  = "absent"

	// images.REF.state
	ImagePresent = "present"
	ImageAbsent  = "absent"
)

// enumTable is every string enum of the schema by field path, in schema
// order. A map entry's key is written *, a list item [].
var enumTable = map[string][]string{
	"vm.driver":               {DriverLima, DriverHost},
	"vm.type":                 {VMTypeQEMU, VMTypeVZ, VMTypeWSL2},
	"vm.mountType":            {MountTypeReverseSSHFS, MountType9P, MountTypeVirtioFS, MountTypeWSL2},
	"vm.portForwards[].proto": {ProtoTCP, ProtoUDP},
	"vm.provision[].mode":     {ProvisionSystem, ProvisionUser},
	"vm.recreate":             {RecreateConfirm, RecreateAllow},
	"containerEngine.name":    {EngineMoby, EngineContainerd},
	"containers.*.state":      {ContainerRunning, ContainerStopped, ContainerPaused, ContainerAbsent},
	"volumes.*.state":         {VolumePresent, VolumeAbsent},
	"images.*.state":          {ImagePresent, ImageAbsent},
}
