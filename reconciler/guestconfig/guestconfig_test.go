package guestconfig

import (
	"strings"
	"testing"

	"github.com/rddproject/rdd/effect"
	"github.com/rddproject/rdd/schema"
)

func desired(mut func(d *schema.Desired)) *schema.Desired {
	d := schema.Default().Defaults()
	mut(d)
	return d
}

func want(t *testing.T, mut func(d *schema.Desired)) Want {
	t.Helper()
	w, err := WantFor(desired(mut), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// TestDaemonJSON: the merge of rdd's keys and config is sorted and
// deterministic, always carries the registry lists, and refuses the keys
// Debian's unit passes as flags.
func TestDaemonJSON(t *testing.T) {
	w := want(t, func(d *schema.Desired) {
		d.ContainerEngine.RegistryMirrors = []string{"https://m.corp:5000"}
		d.ContainerEngine.Config = map[string]any{"max-concurrent-downloads": 5, "log-driver": "local", "features": map[string]any{"buildkit": true}}
	})
	got := string(w.DaemonJSON())
	wantJSON := `{
  "features": {
    "buildkit": true
  },
  "insecure-registries": [],
  "log-driver": "local",
  "max-concurrent-downloads": 5,
  "registry-mirrors": [
    "https://m.corp:5000"
  ]
}
`
	if got != wantJSON {
		t.Errorf("daemon.json:\n%s\nwant:\n%s", got, wantJSON)
	}
	_, err := WantFor(desired(func(d *schema.Desired) { d.ContainerEngine.Config = map[string]any{"containerd": "/x"} }), nil)
	if err == nil || !strings.Contains(err.Error(), "flag") {
		t.Errorf("containerd in config: %v", err)
	}
}

// TestEffects is the reload-versus-restart table.
func TestEffects(t *testing.T) {
	base := want(t, func(d *schema.Desired) {
		d.ContainerEngine.Config = map[string]any{"debug": false, "log-driver": "json-file", "allow-nondistributable-artifacts": []any{}}
	})
	rec := &Record{State: base.State}
	const v2010, v28 = "Docker version 20.10.24+dfsg1, build 297e128", "Docker version 28.5.2, build ecc6942"
	tests := []struct {
		name    string
		mut     func(d *schema.Desired)
		version string
		keys    map[string]effect.Effect
	}{
		{"mirrors reload", func(d *schema.Desired) { d.ContainerEngine.RegistryMirrors = []string{"https://m"} }, v2010,
			map[string]effect.Effect{"containerEngine.registryMirrors": effect.Reload}},
		{"insecure reload", func(d *schema.Desired) { d.ContainerEngine.InsecureRegistries = []string{"r.local:5000"} }, v2010,
			map[string]effect.Effect{"containerEngine.insecureRegistries": effect.Reload}},
		{"debug reloads", func(d *schema.Desired) { d.ContainerEngine.Config["debug"] = true }, v2010,
			map[string]effect.Effect{"containerEngine.config.debug": effect.Reload}},
		{"log-driver restarts", func(d *schema.Desired) { d.ContainerEngine.Config["log-driver"] = "local" }, v2010,
			map[string]effect.Effect{"containerEngine.config.log-driver": effect.EngineRestart}},
		{"nondistributable reloads on 20.10", func(d *schema.Desired) {
			d.ContainerEngine.Config["allow-nondistributable-artifacts"] = []any{"r:5000"}
		}, v2010,
			map[string]effect.Effect{"containerEngine.config.allow-nondistributable-artifacts": effect.Reload}},
		{"nondistributable restarts on 28", func(d *schema.Desired) {
			d.ContainerEngine.Config["allow-nondistributable-artifacts"] = []any{"r:5000"}
		}, v28,
			map[string]effect.Effect{"containerEngine.config.allow-nondistributable-artifacts": effect.EngineRestart}},
		{"removed key restarts", func(d *schema.Desired) { delete(d.ContainerEngine.Config, "debug") }, v2010,
			map[string]effect.Effect{"containerEngine.config.debug": effect.EngineRestart}},
		{"proxy restarts the engine", func(d *schema.Desired) { d.VM.Proxy.HTTP = "http://p:3128" }, v2010,
			map[string]effect.Effect{"vm.proxy": effect.EngineRestart}},
		{"nothing", func(d *schema.Desired) {}, v2010, map[string]effect.Effect{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := want(t, func(d *schema.Desired) {
				d.ContainerEngine.Config = map[string]any{"debug": false, "log-driver": "json-file", "allow-nondistributable-artifacts": []any{}}
				tt.mut(d)
			})
			got := Effects(rec, w, tt.version)
			if len(got) != len(tt.keys) {
				t.Fatalf("got %+v, want %v", got, tt.keys)
			}
			for _, c := range got {
				if tt.keys[c.Key] != c.Effect || c.Why == "" {
					t.Errorf("%s: %s (%q), want %s", c.Key, c.Effect, c.Why, tt.keys[c.Key])
				}
			}
			wantAct := map[effect.Effect]action{effect.None: actNone, effect.Reload: actReload, effect.EngineRestart: actRestart}[effect.New("", got).Effect]
			if a := decide(rec, w, tt.version); a != wantAct {
				t.Errorf("decide = %s, want %s", a, wantAct)
			}
		})
	}
	// Nothing applied yet and nothing desired: no rows, no action.
	if got := Effects(nil, want(t, func(*schema.Desired) {}), v2010); len(got) != 0 {
		t.Errorf("fresh guest, nothing set: %+v", got)
	}
}

// TestProxy: loopback proxies are rewritten to the host as the guest sees
// it; fromHost reads the daemon's environment, upper case first.
func TestProxy(t *testing.T) {
	for in, out := range map[string]string{
		"http://localhost:3128":       "http://host.lima.internal:3128",
		"http://127.0.0.1:3128/":      "http://host.lima.internal:3128/",
		"http://u:p@[::1]:8080":       "http://u:p@host.lima.internal:8080",
		"http://localhost":            "http://host.lima.internal",
		"http://proxy.corp:3128":      "http://proxy.corp:3128",
		"http://127.0.0.1.nip.io:312": "http://127.0.0.1.nip.io:312",
	} {
		if got := guestProxyURL(in); got != out {
			t.Errorf("%s -> %s, want %s", in, got, out)
		}
	}
	env := map[string]string{"HTTP_PROXY": "http://127.0.0.1:3128", "https_proxy": "http://secure:3129", "no_proxy": "localhost,.corp"}
	p := proxyFor(schema.Proxy{HTTP: "http://ignored:1", FromHost: true}, func(k string) string { return env[k] })
	if p != (Proxy{HTTP: "http://host.lima.internal:3128", HTTPS: "http://secure:3129", NoProxy: "localhost,.corp"}) {
		t.Errorf("fromHost: %+v", p)
	}
	p = proxyFor(schema.Proxy{HTTP: "http://p:1", NoProxy: []string{"a", ".b"}}, func(k string) string { return env[k] })
	if p != (Proxy{HTTP: "http://p:1", NoProxy: "a,.b"}) {
		t.Errorf("fields: %+v", p)
	}
	if got := dropIn(Proxy{HTTP: "http://u:p%40@x:1"}); !strings.Contains(got, `Environment="HTTP_PROXY=http://u:p%%40@x:1"`) {
		t.Errorf("drop-in does not escape %%: %s", got)
	}
	if dropIn(Proxy{}) != "" {
		t.Error("an empty proxy has a drop-in")
	}
	env0 := "PATH=/usr/bin\n#LIMA-START\nTZ=UTC\n#LIMA-END\n"
	with := withEnvBlock(env0, Proxy{HTTP: "http://p:1"})
	if !strings.HasPrefix(with, env0) || !strings.Contains(with, "http_proxy=http://p:1\n") {
		t.Errorf("environment block: %q", with)
	}
	if back := withEnvBlock(with, Proxy{}); back != env0 {
		t.Errorf("removing the block: %q, want %q", back, env0)
	}
}

func TestReloadable(t *testing.T) {
	if !Reloadable("registry-mirrors", "") || Reloadable("log-driver", "Docker version 20.10.24") || Reloadable("cluster-store", "") {
		t.Error("reload table wrong")
	}
	if HasValidate("Docker version 20.10.24+dfsg1, build 297e128") || !HasValidate("Docker version 23.0.0, build e92dd87") {
		t.Error("--validate exists from v23 on")
	}
}
