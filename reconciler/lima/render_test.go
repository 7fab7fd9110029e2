package lima

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/rddproject/rdd/schema"
)

var update = flag.Bool("update", os.Getenv("RDD_UPDATE_GOLDEN") != "", "rewrite golden files")

// defaultSpec is the Spec of schema defaults with running: true.
func defaultSpec(t *testing.T) Spec {
	t.Helper()
	d := schema.Default().Defaults()
	d.VM.Type = "qemu"
	s, err := specFor(d, "/home/u/.rd/docker.sock", "/home/u/.rd")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func renderCases(t *testing.T) map[string]Spec {
	stock := defaultSpec(t)

	offline := defaultSpec(t)
	offline.CPUs, offline.Memory, offline.Disk = 2, "2GiB", "8GiB"
	offline.Mounts = []schema.Mount{}
	offline.Image = &schema.VMImage{
		Location: "/srv/img/disk.raw",
		Kernel:   "/srv/img/vmlinuz",
		Initrd:   "/srv/img/initrd.img",
		Cmdline:  "root=/dev/vda rw console=ttyS0",
	}

	containerd := defaultSpec(t)
	containerd.Engine = "containerd"
	containerd.Socket = "/home/u/.rd/containerd.sock"
	containerd.Image = &schema.VMImage{Location: "/srv/img/disk.qcow2"}

	vz := defaultSpec(t)
	vz.VMType, vz.Rosetta, vz.CPUs, vz.Memory = "vz", true, 4, "8GiB"
	vz.Mounts = []schema.Mount{{Location: "~", Writable: false}, {Location: "/tmp/rd share", Writable: true}}

	// guest: every key of section 11 that lima.yaml carries, with the host
	// resolver on (vm.hosts served by it).
	guest := defaultSpec(t)
	guest.Mounts = []schema.Mount{{Location: "~", MountPoint: "/mnt/home", Writable: true}}
	guest.MountType = "9p"
	guest.Env = map[string]string{"TZ": "Europe/Berlin", "LANG": "C.UTF-8"}
	guest.Hosts = map[string]string{"git.corp": "10.0.0.7", "registry.corp": "10.0.0.8"}
	guest.PortForwards = []schema.PortForward{
		{GuestPort: 8080, HostPort: 18080, HostIP: "127.0.0.1", Proto: "tcp"},
		{GuestPort: 53, HostPort: 5353, HostIP: "0.0.0.0", Proto: "udp"},
	}
	guest.Provision = []schema.Provision{{Mode: "system", Script: "#!/bin/sh\necho system >/run/rdd-test\n"}, {Mode: "user", Script: "#!/bin/sh\necho user\n"}}

	// dns: vm.dns turns Lima's host resolver off, so vm.hosts goes to
	// /etc/hosts through a provision script that runs before the user's.
	dns := defaultSpec(t)
	dns.DNS = []string{"10.0.0.2", "10.0.0.3"}
	dns.Hosts = map[string]string{"git.corp": "10.0.0.7"}
	dns.Provision = []schema.Provision{{Mode: "system", Script: "#!/bin/sh\ntrue\n"}}

	return map[string]Spec{"stock": stock, "offline": offline, "containerd": containerd, "vz-rosetta": vz, "guest": guest, "dns": dns}
}

// TestRender compares lima.yaml for representative specs with golden files
// (RDD_UPDATE_GOLDEN=1 rewrites them), and checks that rendering is
// deterministic and gives YAML that parses.
func TestRender(t *testing.T) {
	for name, s := range renderCases(t) {
		t.Run(name, func(t *testing.T) {
			got := Render(s)
			if again := Render(s); !bytes.Equal(got, again) {
				t.Fatal("two renders of the same spec differ")
			}
			var doc map[string]any
			if err := yaml.Unmarshal(got, &doc); err != nil {
				t.Fatalf("rendered lima.yaml does not parse: %v\n%s", err, got)
			}
			golden(t, filepath.Join("testdata", name+".lima.yaml"), got)
		})
	}
}

// TestEditExpr checks the yq expression of `limactl edit --set` against
// golden files: every key rdd owns, none that is fixed at creation.
func TestEditExpr(t *testing.T) {
	for name, s := range renderCases(t) {
		t.Run(name, func(t *testing.T) {
			expr, err := editExpr(s)
			if err != nil {
				t.Fatal(err)
			}
			for _, key := range []string{".images", ".base", ".firmware", ".minimumLimaVersion", "env(", "load("} {
				if strings.Contains(expr, key+" =") || strings.Contains(expr, key) && strings.HasSuffix(key, "(") {
					t.Errorf("expression contains %q:\n%s", key, expr)
				}
			}
			terms, _ := editTerms(s)
			golden(t, filepath.Join("testdata", name+".edit.txt"), []byte(strings.Join(terms, " |\n")+"\n"))
		})
	}
}

func TestEditExprRefusesBackslash(t *testing.T) {
	s := defaultSpec(t)
	s.Mounts = []schema.Mount{{Location: `C:\Users\u`}}
	if _, err := editExpr(s); err == nil || !strings.Contains(err.Error(), "mounts") {
		t.Fatalf("want an error naming the mount, got %v", err)
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with RDD_UPDATE_GOLDEN=1 to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (RDD_UPDATE_GOLDEN=1 rewrites it); got:\n%s", path, got)
	}
}
