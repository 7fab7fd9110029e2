package double

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"

	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// shell: limactl shell [--workdir DIR] NAME [sudo] CMD ARGS...
//
// Nothing runs in a real guest and nothing touches this machine's /etc or
// its dockerd: the double keeps a fake guest root in $LIMA_HOME/NAME/guest
// (every absolute path a command names is mapped into it) and a fake
// dockerd (guest/.double/dockerd.json) whose "running configuration" is
// the daemon.json it last started or reloaded with. It understands the
// commands rdd's guest configuration applier runs, with the contract of
// the real guest (Debian bookworm's docker.io 20.10.24 under systemd, as
// Lima 1.2.2 runs it), checked against:
//   - limactl shell refuses an instance that is not running (Lima
//     cmd/limactl/shell.go: `instance %q is stopped, run `+"`limactl start %s`"+`...`).
//   - /proc/sys/kernel/random/boot_id changes at each start (here: derived
//     from when the instance last started) and not otherwise.
//   - `systemctl reload docker` is Debian's ExecReload (kill -s HUP
//     $MAINPID): dockerd keeps its PID; it logs "Got signal to reload
//     configuration" and then "Reloaded configuration: ..." or, for a file
//     it refuses, "unable to configure the Docker daemon with file
//     /etc/docker/daemon.json: ..." and keeps its old configuration
//     (moby v20.10.27 cmd/dockerd/daemon.go reloadConfig).
//   - `systemctl restart docker` gives dockerd a new PID; a file it refuses
//     keeps it down, and systemctl says "Job for docker.service failed".
//   - `dockerd --validate` exists only from v23 (LIMACTL_DOUBLE_DOCKERD_VERSION).
//   - `docker info --format '{{json .RegistryConfig}}'` reports mirrors
//     with a trailing slash, insecure CIDRs (127.0.0.0/8 always) and
//     insecure registries as IndexConfigs with Secure false, as dockerd
//     does (moby registry/config.go).
//   - journalctl's --show-cursor and --after-cursor (a cursor is a line
//     number here).
//
// Knobs: LIMACTL_DOUBLE_DOCKERD_REFUSE (_double/dockerd-refuse) names a
// daemon.json key that the fake dockerd refuses, with the message 20.10
// gives for an unknown key; LIMACTL_DOUBLE_DOCKERD_VERSION is what
// `dockerd --version` prints (default "Docker version 20.10.24+dfsg1,
// build 297e128"). Counters of reloads, restarts, daemon-reloads and
// update-ca-certificates runs are in guest/.double/dockerd.json.
func (h *home) shell(rest []string) error {
	args := rest
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		switch {
		case args[0] == "--workdir" || args[0] == "--shell":
			if len(args) < 2 {
				return fmt.Errorf("flag needs an argument: %s", args[0])
			}
			args = args[2:]
		case strings.HasPrefix(args[0], "--workdir=") || strings.HasPrefix(args[0], "--shell=") || args[0] == "--reconnect":
			args = args[1:]
		default:
			return fmt.Errorf("unknown flag: %s", args[0])
		}
	}
	if len(args) == 0 {
		return errors.New("requires at least 1 arg(s), only received 0")
	}
	name := args[0]
	args = args[1:]
	if !h.exists(name) {
		return fmt.Errorf("instance %q does not exist, run `limactl create %s` to create a new instance", name, name)
	}
	if h.inspect(name).status != "Running" {
		return fmt.Errorf("instance %q is stopped, run `limactl start %s` to start the instance", name, name)
	}
	if len(args) > 0 && args[0] == "sudo" {
		args = args[1:]
	}
	if len(args) == 0 {
		return errors.New("the double runs no interactive shell")
	}
	g := &guest{h: h, root: filepath.Join(h.instDir(name), "guest"), boot: h.bootID(name)}
	return g.run(args)
}

// bootID stands for the guest's boot: it changes with each start.
func (h *home) bootID(name string) string {
	fi, err := os.Stat(filepath.Join(h.instDir(name), stateFile))
	if err != nil {
		return "unknown"
	}
	return fmt.Sprintf("00000000-0000-4000-8000-%012x", fi.ModTime().UnixNano()&0xffffffffffff)
}

type guest struct {
	h    *home
	root string
	boot string
}

// dockerd is the fake engine's state.
type dockerd struct {
	Boot          string         `json:"boot"`
	PID           int            `json:"pid"` // 0: down
	NextPID       int            `json:"nextPID"`
	Loaded        map[string]any `json:"loaded"` // the configuration it runs on
	Reloads       int            `json:"reloads"`
	Restarts      int            `json:"restarts"`
	DaemonReloads int            `json:"daemonReloads"`
	CAUpdates     int            `json:"caUpdates"`
}

func (g *guest) path(p string) string { return filepath.Join(g.root, filepath.Clean("/"+p)) }

func (g *guest) stateFile() string { return g.path("/.double/dockerd.json") }

// engine loads the fake dockerd; a new boot starts it afresh from the
// daemon.json on the guest's disk.
func (g *guest) engine() (*dockerd, error) {
	var d dockerd
	b, err := os.ReadFile(g.stateFile())
	if err == nil {
		if err := json.Unmarshal(b, &d); err != nil {
			return nil, err
		}
	}
	if d.Boot != g.boot {
		d.Boot = g.boot
		if d.NextPID == 0 {
			d.NextPID = 1200
		}
		d.PID, d.Loaded = 0, nil
		if cfg, refusal := g.readDaemonJSON(); refusal == "" {
			d.NextPID++
			d.PID, d.Loaded = d.NextPID, cfg
		}
	}
	return &d, nil
}

func (g *guest) save(d *dockerd) error {
	b, _ := json.MarshalIndent(d, "", "  ")
	if err := os.MkdirAll(filepath.Dir(g.stateFile()), 0o755); err != nil {
		return err
	}
	return writeAtomic(g.stateFile(), append(b, '\n'))
}

// readDaemonJSON reads daemon.json as dockerd would, or says why dockerd
// refuses it.
func (g *guest) readDaemonJSON() (map[string]any, string) {
	const file = "/etc/docker/daemon.json"
	b, err := os.ReadFile(g.path(file))
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]any{}, ""
	}
	var cfg map[string]any
	if err := json.Unmarshal(b, &cfg); err != nil {
		return nil, fmt.Sprintf("unable to configure the Docker daemon with file %s: %v", file, err)
	}
	if bad := g.h.knob("LIMACTL_DOUBLE_DOCKERD_REFUSE", "dockerd-refuse"); bad != "" {
		if _, ok := cfg[bad]; ok {
			return nil, fmt.Sprintf("unable to configure the Docker daemon with file %s: the following directives don't match any configuration option: %s", file, bad)
		}
	}
	return cfg, ""
}

func (g *guest) journal(lines ...string) {
	p := g.path("/.double/journal-docker")
	_ = os.MkdirAll(filepath.Dir(p), 0o755)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	for _, l := range lines {
		fmt.Fprintf(f, "time=%q level=info msg=%q\n", time.Now().Format(time.RFC3339Nano), l)
	}
}

func (g *guest) journalLines() []string {
	b, _ := os.ReadFile(g.path("/.double/journal-docker"))
	var out []string
	for l := range strings.Lines(string(b)) {
		out = append(out, strings.TrimRight(l, "\n"))
	}
	return out
}

func (g *guest) dockerdVersion() string {
	if v := os.Getenv("LIMACTL_DOUBLE_DOCKERD_VERSION"); v != "" {
		return v
	}
	return "Docker version 20.10.24+dfsg1, build 297e128"
}

func noFile(cmd, p string) error {
	return &exitError{code: 1, msg: fmt.Sprintf("%s: %s: No such file or directory", cmd, p)}
}

// run runs one guest command.
func (g *guest) run(args []string) error {
	cmd, a := args[0], args[1:]
	d, err := g.engine()
	if err != nil {
		return err
	}
	defer func() { _ = g.save(d) }()
	switch cmd {
	case "cat":
		for _, p := range a {
			if p == "/proc/sys/kernel/random/boot_id" {
				fmt.Println(g.boot)
				continue
			}
			b, err := os.ReadFile(g.path(p))
			if err != nil {
				return noFile("cat", p)
			}
			os.Stdout.Write(b)
		}
	case "tee":
		b, err := io.ReadAll(os.Stdin)
		if err != nil {
			return err
		}
		for _, p := range a {
			if err := os.MkdirAll(filepath.Dir(g.path(p)), 0o755); err != nil {
				return err
			}
			if _, err := os.Stat(filepath.Dir(g.path(p))); err != nil {
				return noFile("tee", p)
			}
			if err := writeAtomic(g.path(p), b); err != nil {
				return err
			}
		}
		os.Stdout.Write(b)
	case "mkdir":
		for _, p := range a {
			if p != "-p" {
				if err := os.MkdirAll(g.path(p), 0o755); err != nil {
					return err
				}
			}
		}
	case "rm":
		for _, p := range a {
			if p != "-f" {
				_ = os.Remove(g.path(p))
			}
		}
	case "mv":
		if len(a) != 2 {
			return errors.New("mv: the double takes two paths")
		}
		if err := os.Rename(g.path(a[0]), g.path(a[1])); err != nil {
			return noFile("mv", a[0])
		}
	case "ls":
		dir := a[len(a)-1]
		ents, err := os.ReadDir(g.path(dir))
		if err != nil {
			return &exitError{code: 2, msg: fmt.Sprintf("ls: cannot access '%s': No such file or directory", dir)}
		}
		for _, e := range ents {
			fmt.Println(e.Name())
		}
	case "update-ca-certificates":
		d.CAUpdates++
		fmt.Println("Updating certificates in /etc/ssl/certs...")
	case "dockerd":
		return g.dockerdCmd(d, a)
	case "systemctl":
		return g.systemctl(d, a)
	case "journalctl":
		return g.journalctl(a)
	case "docker":
		return g.docker(d, a)
	default:
		return &exitError{code: 127, msg: fmt.Sprintf("sudo: %s: command not found (the limactl double does not emulate it)", cmd)}
	}
	return nil
}

func (g *guest) dockerdCmd(d *dockerd, a []string) error {
	if slices.Equal(a, []string{"--version"}) {
		fmt.Println(g.dockerdVersion())
		return nil
	}
	if len(a) == 3 && a[0] == "--validate" && a[1] == "--config-file" {
		major, _ := strconv.Atoi(strings.SplitN(strings.TrimPrefix(g.dockerdVersion(), "Docker version "), ".", 2)[0])
		if major < 23 {
			return &exitError{code: 125, msg: "unknown flag: --validate"}
		}
		b, err := os.ReadFile(g.path(a[2]))
		if err != nil {
			return noFile("dockerd", a[2])
		}
		var cfg map[string]any
		if err := json.Unmarshal(b, &cfg); err != nil {
			return &exitError{code: 1, msg: fmt.Sprintf("unable to configure the Docker daemon with file %s: %v", a[2], err)}
		}
		if bad := g.h.knob("LIMACTL_DOUBLE_DOCKERD_REFUSE", "dockerd-refuse"); bad != "" && cfg[bad] != nil {
			return &exitError{code: 1, msg: fmt.Sprintf("unable to configure the Docker daemon with file %s: the following directives don't match any configuration option: %s", a[2], bad)}
		}
		fmt.Fprintln(os.Stderr, "configuration OK")
		return nil
	}
	return fmt.Errorf("the double's dockerd takes only --version and --validate --config-file FILE, not %q", a)
}

func (g *guest) systemctl(d *dockerd, a []string) error {
	if len(a) == 0 {
		return errors.New("systemctl: the double needs a verb")
	}
	verb := a[0]
	if verb == "daemon-reload" {
		d.DaemonReloads++
		return nil
	}
	if len(a) != 2 || (a[1] != "docker" && a[1] != "docker.service") {
		return fmt.Errorf("systemctl: the double knows only daemon-reload and VERB docker, not %q", a)
	}
	switch verb {
	case "reload":
		if d.PID == 0 {
			return &exitError{code: 1, msg: "Job for docker.service invalid."}
		}
		d.Reloads++
		g.journal("Got signal to reload configuration, reloading from: /etc/docker/daemon.json")
		cfg, refusal := g.readDaemonJSON()
		if refusal != "" {
			g.journal(refusal)
			return nil // the signal was sent; dockerd keeps its configuration
		}
		d.Loaded = cfg
		b, _ := json.Marshal(cfg)
		g.journal("Reloaded configuration: " + string(b))
	case "restart":
		d.Restarts++
		d.PID = 0
		cfg, refusal := g.readDaemonJSON()
		if refusal != "" {
			g.journal(refusal, "docker.service: Main process exited, code=exited, status=1/FAILURE")
			return &exitError{code: 1, msg: "Job for docker.service failed because the control process exited with error code.\nSee \"systemctl status docker.service\" and \"journalctl -xe\" for details."}
		}
		d.NextPID++
		d.PID, d.Loaded = d.NextPID, cfg
		g.journal("Starting up", "API listen on /run/docker.sock")
	case "reset-failed":
	case "show":
		fmt.Println(d.PID)
	default:
		return fmt.Errorf("systemctl: the double does not know %q", verb)
	}
	return nil
}

func (g *guest) journalctl(a []string) error {
	lines := g.journalLines()
	after, showCursor, n := -1, false, -1
	for i := 0; i < len(a); i++ {
		switch a[i] {
		case "--show-cursor":
			showCursor = true
		case "--after-cursor":
			i++
			after, _ = strconv.Atoi(a[i])
		case "-n":
			i++
			n, _ = strconv.Atoi(a[i])
		case "-u", "-o":
			i++
		}
	}
	out := lines
	if after >= 0 && after <= len(lines) {
		out = lines[after:]
	}
	if n >= 0 && n < len(out) {
		out = out[len(out)-n:]
	}
	for _, l := range out {
		fmt.Println(l)
	}
	if showCursor {
		fmt.Printf("-- cursor: %d\n", len(lines))
	}
	return nil
}

func (g *guest) docker(d *dockerd, a []string) error {
	if !slices.Equal(a, []string{"info", "--format", "{{json .RegistryConfig}}"}) {
		return fmt.Errorf("the double's docker takes only info --format '{{json .RegistryConfig}}', not %q", a)
	}
	if d.PID == 0 {
		return &exitError{code: 1, msg: "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?"}
	}
	type index struct {
		Name     string   `json:"Name"`
		Mirrors  []string `json:"Mirrors"`
		Secure   bool     `json:"Secure"`
		Official bool     `json:"Official"`
	}
	rc := struct {
		AllowNondistributableArtifactsCIDRs []string         `json:"AllowNondistributableArtifactsCIDRs"`
		InsecureRegistryCIDRs               []string         `json:"InsecureRegistryCIDRs"`
		IndexConfigs                        map[string]index `json:"IndexConfigs"`
		Mirrors                             []string         `json:"Mirrors"`
	}{AllowNondistributableArtifactsCIDRs: []string{}, InsecureRegistryCIDRs: []string{"127.0.0.0/8"}, IndexConfigs: map[string]index{}, Mirrors: []string{}}
	for _, m := range anyStrings(d.Loaded["registry-mirrors"]) {
		rc.Mirrors = append(rc.Mirrors, strings.TrimSuffix(m, "/")+"/")
	}
	rc.IndexConfigs["docker.io"] = index{Name: "docker.io", Mirrors: rc.Mirrors, Secure: true, Official: true}
	for _, r := range anyStrings(d.Loaded["insecure-registries"]) {
		if _, _, err := net.ParseCIDR(r); err == nil {
			rc.InsecureRegistryCIDRs = append(rc.InsecureRegistryCIDRs, r)
		} else {
			rc.IndexConfigs[r] = index{Name: r, Mirrors: []string{}, Secure: false}
		}
	}
	b, _ := json.Marshal(rc)
	fmt.Println(string(b))
	return nil
}

func anyStrings(v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
