package lima

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/rddproject/rdd/schema"
)

// Guest is the part of the Spec that configures the guest through
// lima.yaml and takes effect when the instance next boots (DESIGN section
// 11): Lima renders env, dns, mounts and provision scripts into the
// instance's cloud-init data at every start, and its host agent reads the
// port forwards and host names only when it starts (Lima v1.2.2
// pkg/hostagent/hostagent.go New and Run, pkg/cidata/cidata.go). Keys that
// rdd applies inside the running guest instead (proxy, CA certificates,
// daemon.json) are not here: see package guestconfig.
//
// The fields are omitted from the record when empty, so a record written
// before they existed reads back as the same configuration.
type Guest struct {
	MountType    string               `json:"mountType,omitempty"`
	Env          map[string]string    `json:"env,omitempty"`
	DNS          []string             `json:"dns,omitempty"`
	Hosts        map[string]string    `json:"hosts,omitempty"`
	PortForwards []schema.PortForward `json:"portForwards,omitempty"`
	Provision    []schema.Provision   `json:"provision,omitempty"`
}

// guestFor derives the Guest of a desired state.
func guestFor(d *schema.Desired) Guest {
	g := Guest{MountType: d.VM.MountType}
	if len(d.VM.Env) > 0 {
		g.Env = maps.Clone(d.VM.Env)
	}
	if len(d.VM.DNS) > 0 {
		g.DNS = slices.Clone(d.VM.DNS)
	}
	if len(d.VM.Hosts) > 0 {
		g.Hosts = maps.Clone(d.VM.Hosts)
	}
	if len(d.VM.PortForwards) > 0 {
		g.PortForwards = slices.Clone(d.VM.PortForwards)
	}
	if len(d.VM.Provision) > 0 {
		g.Provision = slices.Clone(d.VM.Provision)
	}
	return g
}

// GuestChange is one key of Guest whose value differs between the
// configuration in force and the desired one.
type GuestChange struct {
	Key, From, To string
}

// guestDiff lists the changed keys of Guest, in desired.yaml's order. A
// record without a mount type (written before rdd rendered one) is taken
// to carry the desired one: the instance keeps the type Lima chose for it
// until it restarts for another reason, rather than being restarted only
// to write a default. Every change here is a VM restart (the rows are in
// the driver's effect table).
func guestDiff(applied, want Guest) []GuestChange {
	var out []GuestChange
	add := func(key, from, to string) {
		out = append(out, GuestChange{Key: key, From: orDash(from), To: orDash(to)})
	}
	if applied.MountType != "" && applied.MountType != want.MountType {
		add("vm.mountType", applied.MountType, want.MountType)
	}
	if !maps.Equal(applied.Env, want.Env) {
		add("vm.env", mapString(applied.Env), mapString(want.Env))
	}
	if !slices.Equal(applied.DNS, want.DNS) {
		add("vm.dns", strings.Join(applied.DNS, ","), strings.Join(want.DNS, ","))
	}
	if !maps.Equal(applied.Hosts, want.Hosts) {
		add("vm.hosts", mapString(applied.Hosts), mapString(want.Hosts))
	}
	if !slices.Equal(applied.PortForwards, want.PortForwards) {
		add("vm.portForwards", forwardsString(applied.PortForwards), forwardsString(want.PortForwards))
	}
	if !slices.Equal(applied.Provision, want.Provision) {
		add("vm.provision", fmt.Sprintf("%d scripts", len(applied.Provision)), fmt.Sprintf("%d scripts", len(want.Provision)))
	}
	return out
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func mapString(m map[string]string) string {
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return strings.Join(parts, ",")
}

func forwardsString(pfs []schema.PortForward) string {
	parts := make([]string, len(pfs))
	for i, pf := range pfs {
		parts[i] = fmt.Sprintf("%s:%d->%d/%s", pf.HostIP, pf.HostPort, pf.GuestPort, pf.Proto)
	}
	return strings.Join(parts, ",")
}

// Rendering of the Guest into lima.yaml. Each function adds its keys to
// the document tree that render.go builds, at the place render.go calls it.

// addMountType writes Lima's mountType (when the desired state names one;
// the schema always does, by vm.type).
func addMountType(doc *yaml.Node, g Guest) {
	if g.MountType != "" {
		add(doc, "mountType", str(g.MountType))
	}
}

// mountPoint adds a mount's guest path when it differs from its location.
func addMountPoint(entry *yaml.Node, m schema.Mount) {
	if m.MountPoint != "" {
		add(entry, "mountPoint", str(m.MountPoint))
	}
}

// addGuestEnv writes env, the resolver settings and propagateProxyEnv.
//
// propagateProxyEnv is always false: Lima would copy limactl's own
// http_proxy/https_proxy/no_proxy (the daemon's environment) into the
// guest's /etc/environment (pkg/cidata/cidata.go setupEnv); rdd writes the
// proxy itself, and the daemon's environment reaches the guest only with
// vm.proxy.fromHost.
//
// dns: Lima refuses `dns` while hostResolver.enabled is true
// (pkg/limayaml/validate.go), and serves hostResolver.hosts only from the
// host agent's resolver, which runs only when it is enabled
// (pkg/hostagent/hostagent.go Run). So with vm.dns set the host resolver
// is turned off and vm.hosts goes to the guest's /etc/hosts through a
// provision script (hostsScript) instead.
func addGuestEnv(doc *yaml.Node, g Guest) {
	if len(g.Env) > 0 {
		env := mapping()
		for _, k := range slices.Sorted(maps.Keys(g.Env)) {
			add(env, k, str(g.Env[k]))
		}
		add(doc, "env", env)
	}
	add(doc, "propagateProxyEnv", boolean(false))
	if len(g.DNS) > 0 {
		dns := seq()
		for _, a := range g.DNS {
			dns.Content = append(dns.Content, str(a))
		}
		add(doc, "dns", dns)
	}
	hr := mapping()
	if len(g.DNS) > 0 {
		add(hr, "enabled", boolean(false))
	} else if len(g.Hosts) > 0 {
		hosts := mapping()
		for _, k := range slices.Sorted(maps.Keys(g.Hosts)) {
			add(hosts, k, str(g.Hosts[k]))
		}
		add(hr, "hosts", hosts)
	}
	if len(hr.Content) > 0 {
		add(doc, "hostResolver", hr)
	}
}

// hostsScript keeps an rdd block in the guest's /etc/hosts (used when the
// host resolver is off because vm.dns is set). It runs at every boot, is
// idempotent, and holds no backslash (see provisionScript).
const hostsScript = `#!/bin/sh
# rdd: vm.hosts, written to /etc/hosts because vm.dns turns Lima's host resolver off.
set -eu
sed -i '/# rdd-hosts$/d' /etc/hosts
cat >>/etc/hosts <<'EOF'
%sEOF
`

// guestProvision returns the provision entries that follow rdd's own
// script: the /etc/hosts script when needed, then the user's scripts in
// their order.
func guestProvision(g Guest) []*yaml.Node {
	var out []*yaml.Node
	if len(g.DNS) > 0 && len(g.Hosts) > 0 {
		var b strings.Builder
		for _, k := range slices.Sorted(maps.Keys(g.Hosts)) {
			fmt.Fprintf(&b, "%s %s # rdd-hosts\n", g.Hosts[k], k)
		}
		p := mapping()
		add(p, "mode", str("system"))
		add(p, "script", literal(fmt.Sprintf(hostsScript, b.String())))
		out = append(out, p)
	}
	for _, pr := range g.Provision {
		p := mapping()
		add(p, "mode", str(pr.Mode))
		add(p, "script", literal(pr.Script))
		out = append(out, p)
	}
	return out
}

// guestForwards returns the user's port forwards, which render.go puts
// before rdd's own socket forward. Lima matches socket rules and port
// rules separately (pkg/hostagent/hostagent.go watchGuestAgentEvents for
// sockets, pkg/hostagent/port.go for ports), so no port rule can take the
// engine socket's place; putting them first keeps rdd's rule the last
// word of the list for anyone reading it.
func guestForwards(g Guest) []*yaml.Node {
	var out []*yaml.Node
	for _, pf := range g.PortForwards {
		r := mapping()
		add(r, "guestPort", integer(pf.GuestPort))
		add(r, "hostPort", integer(pf.HostPort))
		if pf.HostIP != "" {
			add(r, "hostIP", str(pf.HostIP))
		}
		if pf.Proto != "" {
			add(r, "proto", str(pf.Proto))
		}
		out = append(out, r)
	}
	return out
}

// forwardStrings renders port forwards for status (vm.portForwards).
func forwardStrings(pfs []schema.PortForward) []string {
	out := make([]string, len(pfs))
	for i, pf := range pfs {
		out[i] = pf.HostIP + ":" + strconv.Itoa(pf.HostPort) + "->" + strconv.Itoa(pf.GuestPort) + "/" + pf.Proto
	}
	return out
}
