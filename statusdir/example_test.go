package statusdir_test

import (
	"fmt"
	"time"

	"github.com/rddproject/rdd/statusdir"
)

func ExampleEncodeName() {
	for _, name := range []string{"web", "My_Vol_Ume", "busybox:1.36", "ghcr.io/x/y:1", ".hidden", "../../etc/passwd"} {
		fmt.Println(statusdir.ObjectFile(name))
	}
	// Output:
	// web.yaml
	// ^my_^vol_^ume.yaml
	// busybox%3A1.36.yaml
	// ghcr.io%2Fx%2Fy%3A1.yaml
	// %2Ehidden.yaml
	// %2E.%2F..%2Fetc%2Fpasswd.yaml
}

func ExampleMarshal() {
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	app := statusdir.App{
		Daemon:             statusdir.DaemonInfo{PID: 4242, Version: "v0.1.0"},
		Desired:            statusdir.DesiredRef{Path: "/home/u/.rd/desired.yaml", Digest: "sha256:ab", Generation: 12},
		Applied:            statusdir.AppliedRef{Digest: "sha256:ab", Generation: 12},
		ObservedGeneration: 12,
		Summary:            statusdir.SummaryCurrent,
	}
	app.Conditions = statusdir.SetCondition(app.Conditions, statusdir.Condition{
		Type: "Valid", Status: statusdir.True, Reason: "Valid", ObservedGeneration: 12,
	}, t0)
	app.Conditions = statusdir.SetCondition(app.Conditions, statusdir.Condition{
		Type: "Settled", Status: statusdir.True, Reason: "Settled", ObservedGeneration: 12,
	}, t0)
	out, err := statusdir.Marshal(app)
	if err != nil {
		panic(err)
	}
	fmt.Print(string(out))
	// Output:
	// daemon:
	//   pid: 4242
	//   version: v0.1.0
	// desired:
	//   path: /home/u/.rd/desired.yaml
	//   digest: sha256:ab
	//   generation: 12
	// applied:
	//   digest: sha256:ab
	//   generation: 12
	// observedGeneration: 12
	// summary: Current
	// conditions:
	//   - type: Settled
	//     status: "True"
	//     reason: Settled
	//     message: ""
	//     observedGeneration: 12
	//     lastTransitionTime: 2025-01-02T03:04:05Z
	//   - type: Valid
	//     status: "True"
	//     reason: Valid
	//     message: ""
	//     observedGeneration: 12
	//     lastTransitionTime: 2025-01-02T03:04:05Z
	// vm:
	//   driver: ""
	//   instance: ""
	//   status: ""
	//   cpus: 0
	//   memory: ""
	//   disk: ""
	//   type: ""
	// engine:
	//   name: ""
	//   socket: ""
	//   version: ""
	//   apiVersion: ""
}
