package guestconfig

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/rddproject/rdd/effect"
)

// Reasons of the rows.
const (
	whyReload        = "dockerd re-reads it on SIGHUP (moby daemon/reload.go): rdd writes daemon.json and reloads; containers keep running"
	whyConfigRestart = "dockerd does not reload this key on SIGHUP (moby daemon/reload.go); rdd writes daemon.json and restarts the engine, the VM stays up"
	whyRemoved       = "a key removed from daemon.json is not reset by a reload for every key; rdd restarts the engine, the VM stays up"
	whyProxy         = "dockerd under systemd does not read /etc/environment: rdd writes a systemd drop-in and restarts the engine, the VM stays up"
	whyCA            = "the engine reads the trust store when it starts: rdd adds the certificates, runs update-ca-certificates and restarts the engine, the VM stays up"
	whyNotApplicable = "not applied: "
)

// Effects lists what each changed engine key costs, from what was last
// applied and verified (applied; nil when nothing was) to want, on a guest
// whose dockerd reports version (""; unknown). It is the one table of
// these keys: the Lima driver's plan appends it, and Applier acts on the
// same comparison (decide). A containerEngine.config key is a reload when
// dockerd's reload list for that version has it, else an engine restart.
func Effects(applied *Record, want Want, version string) []effect.Change {
	var in State
	if applied != nil {
		in = applied.State
		if version == "" {
			version = applied.DockerdVersion
		}
	}
	var out []effect.Change
	if want.Unit == containerdUnit {
		for _, k := range want.NotApplicable {
			key, why, _ := strings.Cut(k, " (")
			out = append(out, effect.Change{Key: key, From: "-", To: "set", Effect: effect.None, Why: whyNotApplicable + strings.TrimSuffix(why, ")")})
		}
	} else {
		for _, k := range daemonKeysChanged(in.Daemon, want.Daemon) {
			c := effect.Change{Key: daemonKeyPath(k), From: render(in.Daemon, k), To: render(want.Daemon, k)}
			_, inWant := want.Daemon[k]
			switch {
			case !inWant:
				c.Effect, c.Why = effect.EngineRestart, whyRemoved
			case Reloadable(k, version):
				c.Effect, c.Why = effect.Reload, whyReload
			default:
				c.Effect, c.Why = effect.EngineRestart, whyConfigRestart
			}
			out = append(out, c)
		}
	}
	if in.Proxy != want.Proxy {
		out = append(out, effect.Change{Key: "vm.proxy", From: proxyString(in.Proxy), To: proxyString(want.Proxy), Effect: effect.EngineRestart, Why: whyProxy})
	}
	if !slices.Equal(in.CACerts, want.CACerts) {
		out = append(out, effect.Change{Key: "vm.caCerts", From: certsString(in.CACerts), To: certsString(want.CACerts), Effect: effect.EngineRestart, Why: whyCA})
	}
	return out
}

// daemonKeysChanged lists daemon.json keys whose values differ, sorted.
// A State without daemon.json (nothing applied yet) is dockerd's
// defaults: empty registry lists.
func daemonKeysChanged(from, to map[string]any) []string {
	from, to = withRegistryDefaults(from), withRegistryDefaults(to)
	var keys []string
	for _, k := range slices.Sorted(maps.Keys(union(from, to))) {
		if !reflect.DeepEqual(from[k], to[k]) {
			keys = append(keys, k)
		}
	}
	return keys
}

func withRegistryDefaults(m map[string]any) map[string]any {
	out := maps.Clone(m)
	if out == nil {
		out = map[string]any{}
	}
	for _, k := range []string{"registry-mirrors", "insecure-registries"} {
		if _, ok := out[k]; !ok {
			out[k] = []any{}
		}
	}
	return out
}

func union(a, b map[string]any) map[string]any {
	out := maps.Clone(a)
	if out == nil {
		out = map[string]any{}
	}
	maps.Copy(out, b)
	return out
}

// daemonKeyPath is the desired.yaml key of a daemon.json key.
func daemonKeyPath(k string) string {
	switch k {
	case "registry-mirrors":
		return "containerEngine.registryMirrors"
	case "insecure-registries":
		return "containerEngine.insecureRegistries"
	}
	if strings.ContainsAny(k, `."/:\ `) {
		return `containerEngine.config."` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(k) + `"`
	}
	return "containerEngine.config." + k
}

func render(m map[string]any, k string) string {
	v, ok := m[k]
	if !ok {
		return "-"
	}
	if s, isStr := v.(string); isStr {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func proxyString(p Proxy) string {
	if p.IsZero() {
		return "-"
	}
	var parts []string
	for _, kv := range [][2]string{{"http", p.HTTP}, {"https", p.HTTPS}, {"noProxy", p.NoProxy}} {
		if kv[1] != "" {
			parts = append(parts, kv[0]+"="+kv[1])
		}
	}
	return strings.Join(parts, " ")
}

func certsString(certs []string) string {
	if len(certs) == 0 {
		return "-"
	}
	if len(certs) == 1 {
		return "1 certificate"
	}
	return strings.Join([]string{itoa(len(certs)), "certificates"}, " ")
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// action is what bringing the engine to a new State takes.
type action int

const (
	actNone    action = iota // the files may need writing, the engine nothing
	actReload                // SIGHUP
	actRestart               // systemctl restart
)

func (a action) String() string { return [...]string{"none", "reload", "restart"}[a] }

// decide is the least disruptive action that brings the engine from in to
// want: exactly the most disruptive effect among Effects' rows.
func decide(in *Record, want Want, version string) action {
	switch effect.New("", Effects(in, want, version)).Effect {
	case effect.Reload:
		return actReload
	case effect.EngineRestart:
		return actRestart
	}
	return actNone
}
