package schema

import (
	"fmt"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// checkPortForwards refuses two port forwards that would listen on the same
// host address, port and protocol: the second could never bind. It runs on
// the decoded value because the defaults (hostPort = guestPort, hostIP
// 127.0.0.1) decide what collides, and reports at the second entry.
func checkPortForwards(file string, doc *yaml.Node, d *Desired) Errors {
	var errs Errors
	first := map[string]int{}
	for i, pf := range d.VM.PortForwards {
		key := fmt.Sprintf("%s|%d|%s", pf.HostIP, pf.HostPort, pf.Proto)
		segs := []string{"vm", "portForwards", "[" + strconv.Itoa(i) + "]"}
		if j, dup := first[key]; dup {
			errs = append(errs, errorAt(file, doc, segs, fmt.Sprintf(
				"host port %d/%s on %s is already forwarded by vm.portForwards[%d]; give one of them another hostPort",
				pf.HostPort, pf.Proto, pf.HostIP, j)))
			continue
		}
		first[key] = i
	}
	return errs
}
