package lima

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// StockImage is the base template that supplies Lima's own Ubuntu LTS
// cloud image when desired.yaml has no vm.image. `base` needs Lima 1.1 or
// later.
const StockImage = "template://_images/ubuntu-lts"

// minimumLimaVersion is the oldest Lima that understands what Render writes.
const minimumLimaVersion = "1.1.0"

// engineParam is the lima.yaml param that tells the provision script which
// engine to enable; the script reads it as $PARAM_rddEngine.
const engineParam = "rddEngine"

// Guest sockets of the engines.
const (
	dockerGuestSocket     = "/var/run/docker.sock"
	containerdGuestSocket = "/run/containerd/containerd.sock"
)

const header = `# Lima instance configuration written by rdd from desired.yaml.
# rdd owns this instance: change desired.yaml, not this file.
`

// provisionScript runs as root in the guest at every boot. For moby it
// installs dockerd when the image lacks it and lets the guest user (over
// whose ssh connection Lima forwards the socket) own /var/run/docker.sock;
// for containerd (run by Lima's own containerd support) it hands the
// containerd socket to that user and keeps dockerd off. {{.User}} is
// filled in by Lima. The script contains no backslash, so that it survives
// a yq string literal in ` + "`limactl edit --set`" + `.
const provisionScript = `#!/bin/sh
# rdd: enable the container engine chosen in desired.yaml
# (containerEngine.name, passed as PARAM_rddEngine).
set -eu
if [ "$PARAM_rddEngine" = containerd ]; then
  if systemctl cat docker.service >/dev/null 2>&1; then
    systemctl disable --now docker.socket docker.service || true
  fi
  dropin=/etc/systemd/system/containerd.service.d/rdd.conf
  want="[Service]
ExecStartPost=/bin/sh -c 'for i in 1 2 3 4 5 6 7 8 9 10; do [ -S /run/containerd/containerd.sock ] && exec chown {{.User}} /run/containerd/containerd.sock; sleep 1; done'"
  if [ "$(cat "$dropin" 2>/dev/null || true)" != "$want" ]; then
    mkdir -p "$(dirname "$dropin")"
    echo "$want" >"$dropin"
    systemctl daemon-reload
    systemctl try-restart containerd.service || true
  fi
  exit 0
fi
if ! command -v dockerd >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -qy docker.io
  else
    curl -fsSL https://get.docker.com | sh
  fi
fi
dropin=/etc/systemd/system/docker.socket.d/rdd.conf
want="[Socket]
SocketUser={{.User}}"
if [ "$(cat "$dropin" 2>/dev/null || true)" != "$want" ]; then
  mkdir -p "$(dirname "$dropin")"
  echo "$want" >"$dropin"
  systemctl daemon-reload
  systemctl stop docker.service docker.socket || true
fi
systemctl enable docker.socket docker.service
systemctl start docker.socket docker.service
`

// probeScript makes ` + "`limactl start`" + ` wait until the engine's socket
// exists, so Running means the engine is about to answer.
const probeScript = `#!/bin/sh
# rdd: wait for the container engine's socket.
sock=%s
for i in $(seq 1 90); do
  [ -S "$sock" ] && exit 0
  sleep 2
done
echo "$sock did not appear within 3 minutes" >&2
exit 1
`

// guestSocket is the engine's socket inside the guest.
func guestSocket(engine string) string {
	if engine == "containerd" {
		return containerdGuestSocket
	}
	return dockerGuestSocket
}

// document builds lima.yaml for s as an ordered YAML tree, so that Render
// is deterministic and editExpr can walk the same tree.
func document(s Spec) *yaml.Node {
	doc := mapping()
	if s.Image == nil {
		add(doc, "minimumLimaVersion", str(minimumLimaVersion))
		add(doc, "base", seq(str(StockImage)))
	}
	add(doc, "vmType", str(s.VMType))
	add(doc, "cpus", integer(s.CPUs))
	add(doc, "memory", str(s.Memory))
	add(doc, "disk", str(s.Disk))
	if img := s.Image; img != nil {
		entry := mapping()
		add(entry, "location", str(img.Location))
		if img.Kernel != "" {
			kernel := mapping()
			add(kernel, "location", str(img.Kernel))
			if img.Cmdline != "" {
				add(kernel, "cmdline", str(img.Cmdline))
			}
			add(entry, "kernel", kernel)
		}
		if img.Initrd != "" {
			initrd := mapping()
			add(initrd, "location", str(img.Initrd))
			add(entry, "initrd", initrd)
		}
		add(doc, "images", seq(entry))
		if img.Kernel != "" {
			// Direct kernel boot needs no UEFI firmware; SeaBIOS is always
			// there (Lima ignores this off x86_64).
			fw := mapping()
			add(fw, "legacyBIOS", boolean(true))
			add(doc, "firmware", fw)
		}
	}
	mounts := seq()
	for _, m := range s.Mounts {
		entry := mapping()
		add(entry, "location", str(m.Location))
		addMountPoint(entry, m)
		add(entry, "writable", boolean(m.Writable))
		mounts.Content = append(mounts.Content, entry)
	}
	add(doc, "mounts", mounts)
	addMountType(doc, s.Guest)
	if s.Rosetta {
		r := mapping()
		add(r, "enabled", boolean(true))
		add(r, "binfmt", boolean(true))
		add(doc, "rosetta", r)
	}
	ctrd := mapping()
	add(ctrd, "system", boolean(s.Engine == "containerd"))
	add(ctrd, "user", boolean(false))
	add(doc, "containerd", ctrd)
	ssh := mapping()
	add(ssh, "loadDotSSHPubKeys", boolean(false))
	add(doc, "ssh", ssh)
	addGuestEnv(doc, s.Guest)
	param := mapping()
	add(param, engineParam, str(s.Engine))
	add(doc, "param", param)
	prov := mapping()
	add(prov, "mode", str("system"))
	add(prov, "script", literal(provisionScript))
	add(doc, "provision", seq(append([]*yaml.Node{prov}, guestProvision(s.Guest)...)...))
	probe := mapping()
	add(probe, "description", str("the container engine's socket exists"))
	add(probe, "script", literal(fmt.Sprintf(probeScript, guestSocket(s.Engine))))
	add(probe, "hint", str("See /var/log/cloud-init-output.log in the guest (limactl shell rd)"))
	add(doc, "probes", seq(probe))
	fwd := mapping()
	add(fwd, "guestSocket", str(guestSocket(s.Engine)))
	add(fwd, "hostSocket", str(s.Socket))
	add(doc, "portForwards", seq(append(guestForwards(s.Guest), fwd)...))
	return doc
}

// Render returns the lima.yaml of an instance configured as s. The same
// Spec always gives the same bytes.
func Render(s Spec) []byte {
	var buf bytes.Buffer
	buf.WriteString(header)
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(document(s)); err != nil {
		// The tree is built here from strings, ints and bools only.
		panic(fmt.Sprintf("lima: render lima.yaml: %v", err))
	}
	enc.Close()
	return buf.Bytes()
}

// Keys of lima.yaml that an edit leaves alone: the boot image is fixed when
// the instance is created (a new one recreates the instance), and so is the
// firmware that goes with it.
var createOnly = map[string]bool{"minimumLimaVersion": true, "base": true, "images": true, "firmware": true}

// optionalKeys are written only for some specs; an edit deletes them when
// the new spec has none.
var optionalKeys = []string{"rosetta", "mountType", "env", "dns", "hostResolver"}

// editExpr is the yq expression `limactl edit --set` applies to make an
// existing instance's lima.yaml match s: every key rdd owns is assigned a
// literal. It fails on a value that a yq string literal cannot carry
// (backslashes, control characters other than newline).
func editExpr(s Spec) (string, error) {
	terms, err := editTerms(s)
	return strings.Join(terms, " | "), err
}

// editTerms are the terms of editExpr, one per key.
func editTerms(s Spec) ([]string, error) {
	doc := document(s)
	var terms []string
	present := map[string]bool{}
	for i := 0; i+1 < len(doc.Content); i += 2 {
		key := doc.Content[i].Value
		present[key] = true
		if createOnly[key] {
			continue
		}
		var b strings.Builder
		if err := yqLiteral(&b, doc.Content[i+1], key); err != nil {
			return nil, &carryError{limaKey: key, err: err}
		}
		terms = append(terms, "."+key+" = "+b.String())
	}
	for _, key := range optionalKeys {
		if !present[key] {
			terms = append(terms, "del(."+key+")")
		}
	}
	return terms, nil
}

// carryError is a value of lima.yaml's key limaKey that a yq literal
// cannot carry.
type carryError struct {
	limaKey string
	err     error
}

func (e *carryError) Error() string { return e.err.Error() }
func (e *carryError) Unwrap() error { return e.err }

// yqLiteral writes n as a yq collection literal. Its output is also valid
// JSON, which the limactl test double relies on.
func yqLiteral(b *strings.Builder, n *yaml.Node, path string) error {
	switch n.Kind {
	case yaml.MappingNode:
		b.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			if i > 0 {
				b.WriteString(", ")
			}
			k := n.Content[i].Value
			if err := yqString(b, k, path); err != nil {
				return err
			}
			b.WriteString(": ")
			if err := yqLiteral(b, n.Content[i+1], path+"."+k); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case yaml.SequenceNode:
		b.WriteByte('[')
		for i, c := range n.Content {
			if i > 0 {
				b.WriteString(", ")
			}
			if err := yqLiteral(b, c, path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!int", "!!bool":
			b.WriteString(n.Value)
		default:
			return yqString(b, n.Value, path)
		}
	default:
		return fmt.Errorf("%s: cannot write a YAML node of kind %v as a yq literal", path, n.Kind)
	}
	return nil
}

// yqString writes s as a double-quoted yq string. yq unescapes only \" and
// \n in such literals (and reads \( as interpolation), so any other
// backslash or control character is refused rather than mangled.
func yqString(b *strings.Builder, s, path string) error {
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\\' || r < 0x20 || r == 0x7f:
			return fmt.Errorf("%s: %q contains %q, which `limactl edit --set` cannot carry", path, s, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return nil
}

// YAML tree helpers.

func mapping() *yaml.Node { return &yaml.Node{Kind: yaml.MappingNode} }

func seq(items ...*yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.SequenceNode, Content: items}
}

func add(m *yaml.Node, key string, v *yaml.Node) {
	m.Content = append(m.Content, str(key), v)
}

func str(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
}

func literal(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s, Style: yaml.LiteralStyle}
}

func integer(i int) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(i)}
}

func boolean(v bool) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(v)}
}
