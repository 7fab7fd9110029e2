package schema

import (
	"strings"
	"testing"
)

// The engine, guest and Kubernetes fields: each bad value is reported at its
// position with what is allowed.
func TestParseNewFieldErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"containerEngine: {registryMirrors: [ftp://m.corp]}", `d.yaml:1:37: containerEngine.registryMirrors[0]: "ftp://m.corp" is not valid (expected an http:// or https:// URL with a host, e.g. https://mirror.corp:5000)`},
		{"containerEngine: {registryMirrors: ['https://']}", `containerEngine.registryMirrors[0]: "https://" is not valid`},
		{"containerEngine: {insecureRegistries: ['a b']}", `d.yaml:1:40: containerEngine.insecureRegistries[0]: "a b" is not valid (expected a host[:port] such as registry.local:5000, or a CIDR such as 10.0.0.0/8)`},
		{"containerEngine: {insecureRegistries: [10.0.0.0/33]}", `containerEngine.insecureRegistries[0]: "10.0.0.0/33" is not valid`},
		{"containerEngine: {config: {registry-mirrors: []}}", `d.yaml:1:28: containerEngine.config.registry-mirrors: set by rdd; use containerEngine.registryMirrors`},
		{"containerEngine: {config: {insecure-registries: []}}", `containerEngine.config.insecure-registries: set by rdd; use containerEngine.insecureRegistries`},
		{"containerEngine: {config: {proxies: {}}}", `containerEngine.config.proxies: set by rdd; use vm.proxy`},
		{"containerEngine: {config: {hosts: []}}", `containerEngine.config.hosts: set by rdd; use containerEngine.socket`},
		{"containerEngine: {config: {a: 1, a: 2}}", `containerEngine.config.a: duplicate key`},
		{"containerEngine: {dockerContext: -x}", `d.yaml:1:34: containerEngine.dockerContext: "-x" is not valid (expected a docker context name: letters, digits, '_', '.' or '-', starting with a letter or digit; or "" for none)`},
		{"vm: {env: {1X: y}}", `d.yaml:1:12: vm.env."1X": "1X" is not a valid name (expected an environment variable name`},
		{"vm: {env: {A: 3}}", `vm.env.A: expected a string, got 3`},
		{"vm: {proxy: {http: 'proxy:3128'}}", `d.yaml:1:20: vm.proxy.http: "proxy:3128" is not valid (expected an http:// or https:// URL with a host, e.g. http://proxy.corp:3128)`},
		{"vm: {proxy: {noProxy: ['']}}", `vm.proxy.noProxy[0]: "" is not valid (expected a host, domain or CIDR)`},
		{"vm: {proxy: {fromHost: yes}}", `vm.proxy.fromHost: expected true or false, got the string "yes"`},
		{"vm: {caCerts: ['C:\\x.pem']}", `d.yaml:1:16: vm.caCerts[0]: "C:\\x.pem" is not valid (expected the path of a PEM file, absolute or starting with ~/)`},
		{"vm: {caCerts: [rel.pem]}", `vm.caCerts[0]: "rel.pem" is not valid`},
		{"vm: {dns: [10.0.0.256]}", `d.yaml:1:12: vm.dns[0]: "10.0.0.256" is not valid (expected an IP address such as 10.0.0.2)`},
		{"vm: {dns: [3]}", `vm.dns[0]: expected an IP address such as 10.0.0.2, got 3`},
		{"vm: {hosts: {'bad host': 1.1.1.1}}", `vm.hosts."bad host": "bad host" is not a valid name (expected a host name such as git.corp)`},
		{"vm: {hosts: {git.corp: nope}}", `d.yaml:1:24: vm.hosts."git.corp": "nope" is not valid (expected an IP address such as 10.0.0.7)`},
		{"vm: {mountType: nfs}", `vm.mountType: "nfs" is not one of reverse-sshfs, 9p, virtiofs, wsl2`},
		{"vm: {mounts: [{location: 'C:\\Users\\x'}]}", `d.yaml:1:26: vm.mounts[0].location: "C:\\Users\\x" is not valid (expected an absolute path or one starting with ~, e.g. ~/src or /srv/data)`},
		{"vm: {mounts: [{location: src}]}", `vm.mounts[0].location: "src" is not valid (expected an absolute path or one starting with ~`},
		{"vm: {mounts: [{location: /x, mountPoint: rel}]}", `vm.mounts[0].mountPoint: "rel" is not valid (expected an absolute guest path such as /mnt/src)`},
		{"vm: {portForwards: [{guestPort: 0}]}", `vm.portForwards[0].guestPort: 0 is out of range (allowed: a port number from 1 to 65535)`},
		{"vm: {portForwards: [{guestPort: 80, hostPort: 70000}]}", `vm.portForwards[0].hostPort: 70000 is out of range (allowed: a port number from 1 to 65535)`},
		{"vm: {portForwards: [{guestPort: 80, hostIP: localhost}]}", `vm.portForwards[0].hostIP: "localhost" is not valid (expected an IP address such as 127.0.0.1)`},
		{"vm: {portForwards: [{guestPort: 80, proto: sctp}]}", `vm.portForwards[0].proto: "sctp" is not one of tcp, udp`},
		{"vm: {portForwards: [{hostPort: 80}]}", `d.yaml:1:21: vm.portForwards[0]: missing field "guestPort" (expected a port number from 1 to 65535)`},
		{"vm:\n  portForwards:\n    - {guestPort: 80}\n    - {guestPort: 8080, hostPort: 80}\n", `d.yaml:4:7: vm.portForwards[1]: host port 80/tcp on 127.0.0.1 is already forwarded by vm.portForwards[0]; give one of them another hostPort`},
		{"vm: {provision: [{mode: root, script: x}]}", `vm.provision[0].mode: "root" is not one of system, user`},
		{"vm: {provision: [{script: ''}]}", `vm.provision[0].script: "" is not valid (expected a non-empty script)`},
		{"vm: {provision: [{mode: user}]}", `vm.provision[0]: missing field "script" (expected a non-empty script)`},
		{"vm: {recreate: always}", `vm.recreate: "always" is not one of confirm, allow`},
		{"kubernetes: {port: 0}", `kubernetes.port: 0 is out of range (allowed: a port number from 1 to 65535)`},
		{"kubernetes: {context: ''}", `kubernetes.context: "" is not valid (expected a non-empty context name)`},
		{"kubernetes: {source: 3}", `kubernetes.source: expected a string, got 3`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			_, err := Default().Parse("d.yaml", []byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got  %v\nwant %s", err, tc.want)
			}
		})
	}
}

func TestParseNewFieldDefaults(t *testing.T) {
	for goos, mountType := range map[string]string{"linux": MountTypeReverseSSHFS, "darwin": MountTypeVirtioFS, "windows": MountTypeWSL2} {
		s, err := New(goos)
		if err != nil {
			t.Fatal(err)
		}
		d := s.Defaults()
		if d.VM.MountType != mountType || d.VM.Recreate != RecreateConfirm || d.ContainerEngine.DockerContext != "rdd" ||
			d.Kubernetes.Version != "1.34.4" || d.Kubernetes.Port != 6443 || d.Kubernetes.Context != "rdd" || d.VM.Proxy.FromHost {
			t.Errorf("%s defaults: %+v %+v %+v", goos, d.VM, d.ContainerEngine, d.Kubernetes)
		}
	}
	d, err := Default().Parse("d.yaml", []byte(`vm:
  type: vz
  portForwards: [{guestPort: 8080}, {guestPort: 53, hostPort: 5353, hostIP: "::1", proto: udp}]
  provision: [{script: "echo hi"}]
containerEngine: {dockerContext: "", config: {log-opts: {max-size: 10m}, debug: true}}
`))
	if err != nil {
		t.Fatal(err)
	}
	pf := d.VM.PortForwards
	if d.VM.MountType != MountTypeVirtioFS || len(pf) != 2 || pf[0] != (PortForward{8080, 8080, "127.0.0.1", ProtoTCP}) ||
		pf[1] != (PortForward{53, 5353, "::1", ProtoUDP}) || d.VM.Provision[0].Mode != ProvisionSystem ||
		d.ContainerEngine.DockerContext != "" || d.ContainerEngine.Config["debug"] != true {
		t.Errorf("got %+v %+v", d.VM, d.ContainerEngine)
	}
}
