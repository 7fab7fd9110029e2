package guestconfig

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/rddproject/rdd/home"
	"github.com/rddproject/rdd/schema"
)

// HostAddress is the host as a Lima guest sees it (Lima's
// host.lima.internal, written to the guest's /etc/hosts at every boot and
// served by its host resolver).
const HostAddress = "host.lima.internal"

// Units of the engines, as the guest's systemd names them.
const (
	dockerUnit     = "docker"
	containerdUnit = "containerd"
)

// State is the engine configuration of a guest: what Want derives from the
// desired state and what a Record says was last applied and verified.
type State struct {
	// Daemon is daemon.json's content as JSON values (nil for containerd,
	// which has none).
	Daemon map[string]any `json:"daemon,omitempty"`
	Proxy  Proxy          `json:"proxy"`
	// CACerts are the PEM texts of the CA certificates, in order.
	CACerts []string `json:"caCerts,omitempty"`
}

// Proxy is the engine's (and the guest shells') proxy environment.
type Proxy struct {
	HTTP    string `json:"http,omitempty"`
	HTTPS   string `json:"https,omitempty"`
	NoProxy string `json:"noProxy,omitempty"`
}

// IsZero reports whether no proxy is set.
func (p Proxy) IsZero() bool { return p == Proxy{} }

// Want is what the guest must hold for a desired state.
type Want struct {
	State
	Unit               string   // the engine's systemd unit: docker or containerd
	Mirrors            []string // registry mirrors, as desired.yaml lists them
	InsecureRegistries []string
	// NotApplicable names the keys set in desired.yaml that this engine
	// cannot take, with why; they are reported, never silently dropped.
	NotApplicable []string
}

// containerdReason says why rdd leaves the registry keys alone on
// containerd.
const containerdReason = "containerEngine.name is containerd: daemon.json is dockerd's; " +
	"containerd's registry hosts (/etc/containerd/certs.d) are not managed by rdd yet, " +
	"and Lima rewrites containerd's config.toml at every boot"

// WantFor derives the guest configuration of d. getenv reads the daemon's
// environment for vm.proxy.fromHost (nil: os.Getenv). It reads the CA
// certificate files, which the schema checked when the file was loaded.
func WantFor(d *schema.Desired, getenv func(string) string) (Want, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	ce := d.ContainerEngine
	w := Want{Unit: dockerUnit, Mirrors: slices.Clone(ce.RegistryMirrors), InsecureRegistries: slices.Clone(ce.InsecureRegistries)}
	if ce.Name == "containerd" {
		w.Unit = containerdUnit
		for _, k := range SetEngineKeys(d) {
			w.NotApplicable = append(w.NotApplicable, k+" ("+containerdReason+")")
		}
	} else {
		daemon, err := mergeDaemon(ce.RegistryMirrors, ce.InsecureRegistries, ce.Config)
		if err != nil {
			return Want{}, err
		}
		w.Daemon = daemon
	}
	w.Proxy = proxyFor(d.VM.Proxy, getenv)
	for _, p := range d.VM.CACerts {
		path, err := home.Expand(p)
		if err != nil {
			return Want{}, fmt.Errorf("vm.caCerts %q: %w", p, err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return Want{}, fmt.Errorf("vm.caCerts: %w", err)
		}
		w.CACerts = append(w.CACerts, strings.TrimSpace(string(b))+"\n")
	}
	return w, nil
}

// SetEngineKeys lists the containerEngine keys of d that configure the
// engine's daemon (mirrors, insecure registries, config), in that order.
func SetEngineKeys(d *schema.Desired) []string {
	var keys []string
	ce := d.ContainerEngine
	if len(ce.RegistryMirrors) > 0 {
		keys = append(keys, "containerEngine.registryMirrors")
	}
	if len(ce.InsecureRegistries) > 0 {
		keys = append(keys, "containerEngine.insecureRegistries")
	}
	if len(ce.Config) > 0 {
		keys = append(keys, "containerEngine.config")
	}
	return keys
}

// SetGuestKeys lists every key of section 11 that d sets and that only a
// guest rdd owns can take (for the host driver's NotApplicable).
func SetGuestKeys(d *schema.Desired) []string {
	keys := SetEngineKeys(d)
	v := d.VM
	if v.Proxy.HTTP != "" || v.Proxy.HTTPS != "" || len(v.Proxy.NoProxy) > 0 || v.Proxy.FromHost {
		keys = append(keys, "vm.proxy")
	}
	if len(v.CACerts) > 0 {
		keys = append(keys, "vm.caCerts")
	}
	return keys
}

// reservedFlags are daemon.json keys that Debian's docker.service already
// passes as flags (`-H fd:// --containerd=...`): dockerd refuses to start
// when a key is both.
var reservedFlags = map[string]string{"hosts": "containerEngine.socket", "containerd": "containerEngine.name"}

// mergeDaemon is daemon.json: config's keys plus rdd's own. The registry
// keys are always written, empty lists included: dockerd 20.10 reloads a
// key only when the file sets it (daemon/reload.go IsValueSet), so
// leaving an emptied list out would keep the old mirrors.
func mergeDaemon(mirrors, insecure []string, config map[string]any) (map[string]any, error) {
	out := map[string]any{}
	for _, k := range slices.Sorted(maps.Keys(config)) {
		if field, ok := reservedFlags[k]; ok {
			return nil, fmt.Errorf("containerEngine.config: %q is passed to dockerd as a flag by the guest's docker.service (set by %s); dockerd would refuse to start", k, field)
		}
		v, err := jsonValue(config[k])
		if err != nil {
			return nil, fmt.Errorf("containerEngine.config.%s: %w", k, err)
		}
		out[k] = v
	}
	out["registry-mirrors"] = stringsAny(mirrors)
	out["insecure-registries"] = stringsAny(insecure)
	return out, nil
}

// jsonValue normalises v to what it reads back as from JSON, so that a
// State from desired.yaml compares equal to one from a record.
func jsonValue(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	err = json.Unmarshal(b, &out)
	return out, err
}

func stringsAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// DaemonJSON renders daemon.json: keys sorted, two-space indentation, so
// the same configuration always gives the same bytes.
func (s State) DaemonJSON() []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s.Daemon); err != nil {
		panic(fmt.Sprintf("guestconfig: daemon.json of JSON values: %v", err)) // values came from JSON
	}
	return buf.Bytes()
}

// Digest identifies a State (app.yaml engine.config.digest).
func (s State) Digest() string {
	b, _ := json.Marshal(s) // maps marshal with sorted keys
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// proxyFor resolves vm.proxy: the fields, or with fromHost the daemon's
// own HTTP(S)_PROXY / NO_PROXY (upper case first, as curl and Go read
// them); a loopback proxy is rewritten to the host as the guest sees it.
func proxyFor(p schema.Proxy, getenv func(string) string) Proxy {
	out := Proxy{HTTP: p.HTTP, HTTPS: p.HTTPS, NoProxy: strings.Join(p.NoProxy, ",")}
	if p.FromHost {
		env := func(name string) string {
			if v := getenv(name); v != "" {
				return v
			}
			return getenv(strings.ToLower(name))
		}
		out = Proxy{HTTP: env("HTTP_PROXY"), HTTPS: env("HTTPS_PROXY"), NoProxy: env("NO_PROXY")}
	}
	out.HTTP, out.HTTPS = guestProxyURL(out.HTTP), guestProxyURL(out.HTTPS)
	return out
}

// guestProxyURL rewrites a proxy on the host's loopback to the host
// address the guest reaches (in the guest, localhost is the guest), as
// Lima does for the proxy variables it propagates (pkg/cidata/cidata.go
// setupEnv). Anything else, and a value that is not a URL, is kept.
func guestProxyURL(s string) string {
	if s == "" {
		return s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return s
	}
	h := u.Hostname()
	ip := net.ParseIP(h)
	if h != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return s
	}
	if port := u.Port(); port != "" {
		u.Host = net.JoinHostPort(HostAddress, port)
	} else {
		u.Host = HostAddress
	}
	return u.String()
}

// dropIn is the systemd drop-in that gives the engine its proxy; "" when
// there is none (the file is removed). `%` is systemd's specifier
// character and `"`, `\` its quoting; each is escaped.
func dropIn(p Proxy) string {
	if p.IsZero() {
		return ""
	}
	esc := strings.NewReplacer(`%`, `%%`, `\`, `\\`, `"`, `\"`)
	var b strings.Builder
	b.WriteString("# Written by rdd from desired.yaml (vm.proxy); do not edit.\n[Service]\n")
	for _, kv := range [][2]string{{"HTTP_PROXY", p.HTTP}, {"HTTPS_PROXY", p.HTTPS}, {"NO_PROXY", p.NoProxy}} {
		if kv[1] != "" {
			fmt.Fprintf(&b, "Environment=\"%s=%s\"\n", kv[0], esc.Replace(kv[1]))
		}
	}
	return b.String()
}

// Markers of rdd's block in the guest's /etc/environment.
const (
	envStart = "# rdd-proxy-start (vm.proxy; written by rdd)"
	envEnd   = "# rdd-proxy-end"
)

// withEnvBlock returns /etc/environment's content with rdd's proxy block
// replaced by p's (or removed when p is empty), leaving every other line,
// Lima's own block included, as it was.
func withEnvBlock(current string, p Proxy) string {
	var kept []string
	in := false
	for line := range strings.Lines(current) {
		t := strings.TrimRight(line, "\n")
		switch {
		case t == envStart:
			in = true
		case t == envEnd:
			in = false
		case !in:
			kept = append(kept, t)
		}
	}
	if !p.IsZero() {
		kept = append(kept, envStart)
		for _, kv := range [][2]string{{"HTTP_PROXY", p.HTTP}, {"HTTPS_PROXY", p.HTTPS}, {"NO_PROXY", p.NoProxy}} {
			if kv[1] != "" {
				kept = append(kept, kv[0]+"="+kv[1], strings.ToLower(kv[0])+"="+kv[1])
			}
		}
		kept = append(kept, envEnd)
	}
	if len(kept) == 0 {
		return ""
	}
	return strings.Join(kept, "\n") + "\n"
}
