package double

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/rddproject/rdd/atomicfile"
)

const (
	limaYAML  = "lima.yaml"
	stateFile = "double-state.json"
	haStderr  = "ha.stderr.log"
)

// state is what the double remembers of an instance besides its lima.yaml.
type state struct {
	Status string   `json:"status"` // Stopped or Running
	Links  []string `json:"links,omitempty"`
}

var validName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

func (h *home) instDir(name string) string { return filepath.Join(h.dir, name) }

func (h *home) exists(name string) bool {
	_, err := os.Stat(filepath.Join(h.instDir(name), limaYAML))
	return err == nil
}

func (h *home) readState(name string) (state, error) {
	var st state
	b, err := os.ReadFile(filepath.Join(h.instDir(name), stateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return state{Status: "Stopped"}, nil
	}
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("parse %s: %w", stateFile, err)
	}
	return st, nil
}

func (h *home) writeState(name string, st state) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(filepath.Join(h.instDir(name), stateFile), append(b, '\n'))
}

func writeAtomic(path string, b []byte) error {
	return atomicfile.Write(path, b, 0o644)
}

// config is the part of lima.yaml the double understands.
type config struct {
	raw map[string]any
}

func parseConfig(b []byte) (*config, error) {
	var raw map[string]any
	if err := yaml.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("failed to unmarshal YAML: %w", err)
	}
	if raw == nil {
		raw = map[string]any{}
	}
	return &config{raw: raw}, nil
}

func (c *config) str(key, def string) string {
	if v, ok := c.raw[key].(string); ok && v != "" {
		return v
	}
	return def
}

func (c *config) cpus() int {
	switch v := c.raw["cpus"].(type) {
	case int:
		return v
	}
	return 4
}

func (c *config) vmType() string {
	def := "qemu"
	switch runtime.GOOS {
	case "darwin":
		def = "vz"
	case "windows":
		def = "wsl2"
	}
	return c.str("vmType", def)
}

func (c *config) arch() string {
	def := map[string]string{"amd64": "x86_64", "arm64": "aarch64"}[runtime.GOARCH]
	return c.str("arch", def)
}

// validate checks what Lima would refuse at create or edit time.
func (c *config) validate() error {
	var errs []error
	if v, ok := c.raw["cpus"]; ok {
		if n, isInt := v.(int); !isInt || n < 1 {
			errs = append(errs, fmt.Errorf("field `cpus` must be a positive integer, got %v", v))
		}
	}
	for _, k := range []string{"memory", "disk"} {
		if v, ok := c.raw[k]; ok {
			s, isStr := v.(string)
			if _, err := parseBytes(s); !isStr || err != nil {
				errs = append(errs, fmt.Errorf("field `%s` has an invalid value %v", k, v))
			}
		}
	}
	if t := c.vmType(); !slices.Contains([]string{"qemu", "vz", "wsl2"}, t) {
		errs = append(errs, fmt.Errorf("field `vmType` must be \"qemu\", \"vz\" or \"wsl2\"; got %q", t))
	}
	_, hasBase := c.raw["base"]
	if imgs, _ := c.raw["images"].([]any); len(imgs) == 0 && !hasBase {
		errs = append(errs, errors.New("field `images` must be set"))
	}
	if p, ok := c.raw["probes"].([]any); ok {
		for i, pr := range p {
			m, _ := pr.(map[string]any)
			if s, _ := m["script"].(string); !strings.HasPrefix(s, "#!") {
				errs = append(errs, fmt.Errorf("field `probe[%d].script` must start with a '#!' line", i))
			}
		}
	}
	return errors.Join(errs...)
}

// startable checks what Lima would refuse when starting on this host.
func (c *config) startable() error {
	switch t := c.vmType(); {
	case t == "vz" && runtime.GOOS != "darwin":
		return fmt.Errorf("vmType %q is not supported on %s (only on macOS)", t, runtime.GOOS)
	case t == "wsl2" && runtime.GOOS != "windows":
		return fmt.Errorf("vmType %q is not supported on %s (only on Windows)", t, runtime.GOOS)
	}
	if r, _ := c.raw["rosetta"].(map[string]any); r != nil && r["enabled"] == true && c.vmType() != "vz" {
		return errors.New("field `rosetta.enabled` can only be enabled for VMType \"vz\"")
	}
	return nil
}

var sizeRE = regexp.MustCompile(`^\s*([0-9]+(?:\.[0-9]+)?)\s*([kKmMgGtTpP]?)(i?[bB])?\s*$`)

// parseBytes reads a size the way Lima does (go-units RAMInBytes: every
// unit is binary).
func parseBytes(s string) (int64, error) {
	m := sizeRE.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	f, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, err
	}
	shift := map[string]uint{"": 0, "k": 10, "m": 20, "g": 30, "t": 40, "p": 50}[strings.ToLower(m[2])]
	return int64(f * float64(int64(1)<<shift)), nil
}

func (h *home) loadConfig(name string) (*config, []byte, error) {
	b, err := os.ReadFile(filepath.Join(h.instDir(name), limaYAML))
	if err != nil {
		return nil, nil, err
	}
	c, err := parseConfig(b)
	return c, b, err
}

func notExist(name string) error {
	return fmt.Errorf("instance %q does not exist, run `limactl create --name=%s` to create a new instance", name, name)
}

func oneName(f *flags, def string) (string, error) {
	switch len(f.args) {
	case 0:
		return def, nil
	case 1:
		if !validName.MatchString(f.args[0]) {
			return "", fmt.Errorf("invalid instance name %q", f.args[0])
		}
		return f.args[0], nil
	}
	return "", fmt.Errorf("accepts at most 1 arg(s), received %d", len(f.args))
}

// create NAME: limactl create [--name=NAME] FILE.yaml|-
func (h *home) create(rest []string) error {
	f, err := parseFlags(rest, []string{"name", "set"}, nil)
	if err != nil {
		return err
	}
	if len(f.args) != 1 {
		return errors.New("the double needs a template: limactl create --name=NAME FILE.yaml|-")
	}
	name := f.values["name"]
	var data []byte
	if f.args[0] == "-" {
		if name == "" {
			return errors.New("must pass instance name with --name when reading template from stdin")
		}
		data, err = io.ReadAll(os.Stdin)
	} else {
		if name == "" {
			name = strings.TrimSuffix(filepath.Base(f.args[0]), filepath.Ext(f.args[0]))
		}
		data, err = os.ReadFile(f.args[0])
	}
	if err != nil {
		return err
	}
	if !validName.MatchString(name) {
		return fmt.Errorf("invalid instance name %q", name)
	}
	if h.exists(name) {
		return fmt.Errorf("instance %q already exists", name)
	}
	return h.createFrom(name, data)
}

func (h *home) createFrom(name string, data []byte) error {
	c, err := parseConfig(data)
	if err != nil {
		return err
	}
	if err := c.validate(); err != nil {
		return err
	}
	if h.hangs("create") {
		return h.wait(-1, "create "+name)
	}
	if msg := h.knob("LIMACTL_DOUBLE_FAIL_CREATE", "fail-create"); msg != "" {
		return errors.New(msg)
	}
	if err := h.wait(h.delay("LIMACTL_DOUBLE_CREATE_DELAY", "create-delay", 50*time.Millisecond), "create "+name); err != nil {
		return err
	}
	dir := h.instDir(name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := writeAtomic(filepath.Join(dir, limaYAML), data); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "lima-version"), []byte(version()+"\n"), 0o644); err != nil {
		return err
	}
	if err := h.writeState(name, state{Status: "Stopped"}); err != nil {
		return err
	}
	info("Run `limactl start %s` to start the instance.", name)
	return nil
}

// start: limactl start [--timeout=D] NAME
func (h *home) start(rest []string) error {
	f, err := parseFlags(rest, []string{"timeout", "name", "set"}, []string{"foreground"})
	if err != nil {
		return err
	}
	name, err := oneName(f, "default")
	if err != nil {
		return err
	}
	if !h.exists(name) {
		// Lima creates a missing instance from its default template.
		info("Creating an instance %q from template://default (Not from template://%s)", name, name)
		warn("This form is deprecated. Use `limactl create --name=%s template://default` instead", name)
		if err := h.createFrom(name, []byte("base: template://default\n")); err != nil {
			return err
		}
	}
	st, err := h.readState(name)
	if err != nil {
		return err
	}
	if st.Status == "Running" {
		info("The instance %q is already running. Run `limactl shell %s` to open the shell.", name, name)
		return nil
	}
	c, _, err := h.loadConfig(name)
	if err != nil {
		return err
	}
	dir := h.instDir(name)
	haLog := filepath.Join(dir, haStderr)
	failStart := func(msg string) error {
		logLine("error", msg)
		appendFile(haLog, fmt.Sprintf("time=%q level=error msg=%s\n", time.Now().Format(time.RFC3339), strconv.Quote(msg)))
		return &exitError{code: 1, msg: fmt.Sprintf("exiting, status={Running:false Degraded:false Exiting:true Errors:[%s]} (hint: see %q)", msg, haLog)}
	}
	if err := c.startable(); err != nil {
		return failStart(err.Error())
	}
	info("Starting the instance %q with VM driver %q", name, c.vmType())
	if h.hangs("start") {
		return h.wait(-1, "start "+name)
	}
	if msg := h.knob("LIMACTL_DOUBLE_FAIL_START", "fail-start"); msg != "" {
		if err := h.wait(h.delay("LIMACTL_DOUBLE_START_DELAY", "start-delay", 300*time.Millisecond)/2, "start "+name); err != nil {
			return err
		}
		return failStart(msg)
	}
	if err := h.wait(h.delay("LIMACTL_DOUBLE_START_DELAY", "start-delay", 300*time.Millisecond), "start "+name); err != nil {
		return err
	}
	links, err := h.link(name, c)
	if err != nil {
		return failStart(err.Error())
	}
	if err := h.writeState(name, state{Status: "Running", Links: links}); err != nil {
		return err
	}
	info("READY. Run `limactl shell %s` to open the shell.", name)
	return nil
}

// link exposes the engine sockets named by the instance's portForwards.
func (h *home) link(name string, c *config) ([]string, error) {
	docker := os.Getenv("LIMACTL_DOUBLE_DOCKER_SOCK")
	if docker == "" {
		docker = "/var/run/docker.sock"
	}
	targets := map[string]string{
		"/var/run/docker.sock":            docker,
		"/run/docker.sock":                docker,
		"/run/containerd/containerd.sock": os.Getenv("LIMACTL_DOUBLE_CONTAINERD_SOCK"),
	}
	dir := h.instDir(name)
	userHome, _ := os.UserHomeDir()
	fwds, _ := c.raw["portForwards"].([]any)
	var links []string
	for _, f := range fwds {
		m, _ := f.(map[string]any)
		guest, _ := m["guestSocket"].(string)
		hostSock, _ := m["hostSocket"].(string)
		target := targets[guest]
		if hostSock == "" || target == "" {
			continue
		}
		hostSock = strings.NewReplacer("{{.Dir}}", dir, "{{.Name}}", name, "{{.Home}}", userHome).Replace(hostSock)
		if !filepath.IsAbs(hostSock) {
			hostSock = filepath.Join(dir, "sock", hostSock)
		}
		if err := os.MkdirAll(filepath.Dir(hostSock), 0o755); err != nil {
			return links, err
		}
		if err := os.RemoveAll(hostSock); err != nil {
			return links, err
		}
		if err := os.Symlink(target, hostSock); err != nil {
			return links, fmt.Errorf("forward %s to %s: %w", guest, hostSock, err)
		}
		links = append(links, hostSock)
	}
	return links, nil
}

func unlink(st state) {
	for _, l := range st.Links {
		if fi, err := os.Lstat(l); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			os.Remove(l)
		}
	}
}

func appendFile(path, s string) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	f.WriteString(s)
}

// stop: limactl stop [--force|-f] NAME
func (h *home) stop(rest []string) error {
	f, err := parseFlags(rest, nil, []string{"force", "f=force"})
	if err != nil {
		return err
	}
	name, err := oneName(f, "default")
	if err != nil {
		return err
	}
	if !h.exists(name) {
		return notExist(name)
	}
	st, err := h.readState(name)
	if err != nil {
		return err
	}
	if f.bools["force"] {
		unlink(st)
		return h.writeState(name, state{Status: "Stopped"})
	}
	if st.Status != "Running" {
		return fmt.Errorf("expected status %q, got %q (maybe use `limactl stop -f`?)", "Running", st.Status)
	}
	info("Sending SIGINT to hostagent process %d", os.Getpid())
	if h.hangs("stop") {
		return h.wait(-1, "stop "+name)
	}
	if msg := h.knob("LIMACTL_DOUBLE_FAIL_STOP", "fail-stop"); msg != "" {
		logLine("error", msg)
		return errors.New(`did not receive an event with the "exiting" status`)
	}
	info("Waiting for the host agent and the driver processes to shut down")
	if err := h.wait(h.delay("LIMACTL_DOUBLE_STOP_DELAY", "stop-delay", 100*time.Millisecond), "stop "+name); err != nil {
		return err
	}
	unlink(st)
	return h.writeState(name, state{Status: "Stopped"})
}

// delete: limactl delete [--force|-f] NAME...
func (h *home) delete(rest []string) error {
	f, err := parseFlags(rest, nil, []string{"force", "f=force"})
	if err != nil {
		return err
	}
	if len(f.args) == 0 {
		return errors.New("requires at least 1 arg(s), only received 0")
	}
	for _, name := range f.args {
		if !h.exists(name) {
			warn("Ignoring non-existent instance %q", name)
			continue
		}
		st, err := h.readState(name)
		if err != nil {
			return err
		}
		if !f.bools["force"] && st.Status != "Stopped" {
			return fmt.Errorf("failed to delete instance %q: expected status %q, got %q", name, "Stopped", st.Status)
		}
		unlink(st)
		if err := os.RemoveAll(h.instDir(name)); err != nil {
			return fmt.Errorf("failed to delete instance %q: %w", name, err)
		}
		info("Deleted %q (%q)", name, h.instDir(name))
	}
	return nil
}

// listEntry is one instance as `limactl list --json` prints it (Lima
// v1.2.2's store.Instance, the fields that do not need a real VM).
type listEntry struct {
	Name          string            `json:"name"`
	Hostname      string            `json:"hostname"`
	Status        string            `json:"status"`
	Dir           string            `json:"dir"`
	VMType        string            `json:"vmType"`
	Arch          string            `json:"arch"`
	CPUType       string            `json:"cpuType"`
	CPUs          int               `json:"cpus,omitempty"`
	Memory        int64             `json:"memory,omitempty"`
	Disk          int64             `json:"disk,omitempty"`
	Message       string            `json:"message,omitempty"`
	SSHLocalPort  int               `json:"sshLocalPort,omitempty"`
	SSHConfigFile string            `json:"sshConfigFile,omitempty"`
	Config        map[string]any    `json:"config,omitempty"`
	SSHAddress    string            `json:"sshAddress,omitempty"`
	Protected     bool              `json:"protected"`
	LimaVersion   string            `json:"limaVersion"`
	Param         map[string]string `json:"param,omitempty"`
}

func (h *home) entry(name string) (listEntry, error) {
	dir := h.instDir(name)
	e := listEntry{Name: name, Hostname: "lima-" + name, Dir: dir, SSHAddress: "127.0.0.1",
		SSHConfigFile: filepath.Join(dir, "ssh.config"), LimaVersion: version()}
	c, _, err := h.loadConfig(name)
	if err != nil {
		return e, err
	}
	st, err := h.readState(name)
	if err != nil {
		return e, err
	}
	e.Status = st.Status
	e.VMType = c.vmType()
	e.Arch = c.arch()
	e.CPUs = c.cpus()
	e.Memory, _ = parseBytes(c.str("memory", "4GiB"))
	e.Disk, _ = parseBytes(c.str("disk", "100GiB"))
	if e.VMType == "wsl2" {
		e.CPUs, e.Memory, e.Disk = 0, 0, 0
	}
	e.Config = c.raw
	if p, ok := c.raw["param"].(map[string]any); ok {
		e.Param = map[string]string{}
		for k, v := range p {
			e.Param[k] = fmt.Sprint(v)
		}
	}
	return e, nil
}

// list: limactl list [--json | --format json] [NAME...]
func (h *home) list(rest []string) error {
	f, err := parseFlags(rest, []string{"format", "f=format"}, []string{"json", "quiet", "q=quiet", "all-fields"})
	if err != nil {
		return err
	}
	format := f.values["format"]
	if f.bools["json"] {
		if format != "" {
			return errors.New("option --json conflicts with option --format")
		}
		format = "json"
	}
	if format == "" {
		format = "table"
	}
	if msg := h.knob("LIMACTL_DOUBLE_FAIL_LIST", "fail-list"); msg != "" {
		return errors.New(msg)
	}
	entries, err := os.ReadDir(h.dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	var all []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), "_") && !strings.HasPrefix(e.Name(), ".") && h.exists(e.Name()) {
			all = append(all, e.Name())
		}
	}
	if len(f.args) == 0 && len(all) == 0 {
		warn("No instance found. Run `limactl create` to create an instance.")
		return nil
	}
	names := all
	unmatched := false
	if len(f.args) > 0 {
		names = nil
		for _, a := range f.args {
			if slices.Contains(all, a) {
				names = append(names, a)
			} else {
				warn("No instance matching %v found.", a)
				unmatched = true
			}
		}
	}
	for _, n := range names {
		e, err := h.entry(n)
		if err != nil {
			return fmt.Errorf("unable to load instance %s: %w", n, err)
		}
		switch {
		case f.bools["quiet"]:
			fmt.Println(n)
		case format == "json":
			b, err := json.Marshal(e)
			if err != nil {
				return err
			}
			fmt.Println(string(b))
		case format == "table":
			fmt.Printf("%-12s %-10s %-8s %-8s %4d %10d %12d %s\n", e.Name, e.Status, e.VMType, e.Arch, e.CPUs, e.Memory, e.Disk, e.Dir)
		default:
			return fmt.Errorf("the double supports --format json and table, not %q", format)
		}
	}
	if unmatched {
		return &exitError{code: 1, msg: "unmatched instances"}
	}
	return nil
}
