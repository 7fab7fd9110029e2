package guestconfig

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
	"time"
)

// Paths in the guest.
const (
	daemonJSON   = "/etc/docker/daemon.json"
	daemonNew    = "/etc/docker/daemon.json.rdd-new"
	lastGood     = "/etc/docker/daemon.json.rdd-last-good"
	etcEnv       = "/etc/environment"
	caDir        = "/usr/local/share/ca-certificates"
	bootIDPath   = "/proc/sys/kernel/random/boot_id"
	dropInFormat = "/etc/systemd/system/%s.service.d/rdd-proxy.conf"
)

// Outcome of an Apply.
type Outcome int

const (
	Applied       Outcome = iota // in force and verified
	Failed                       // the engine refused it, or it could not be written; the last good configuration is in force
	NotApplicable                // some keys cannot be applied to this engine (Result.Message names them); the rest is
)

// Result is what Apply did.
type Result struct {
	Outcome Outcome
	Action  string // none, reload or restart
	Message string
	// Digest, Mirrors and Insecure are what is in force, the registries as
	// dockerd reports them (docker info).
	Digest   string
	Mirrors  []string
	Insecure []string
	Took     time.Duration
}

// Applier brings a guest's engine configuration to a Want.
type Applier struct {
	Shell Shell
	Dir   string // the instance directory, where the Record lives
	// ReloadWait bounds the wait for dockerd's log line after a reload
	// (default 15s).
	ReloadWait time.Duration
	// Now is time.Now; tests move it.
	Now func() time.Time
}

// BootID reads the guest's boot id, which changes with every boot: a
// configuration is applied again in a new boot, so a guest whose disk was
// replaced gets its files back.
func (a *Applier) BootID(ctx context.Context) (string, error) {
	return a.bootID(ctx)
}

func (a *Applier) bootID(ctx context.Context) (string, error) {
	out, err := a.Shell.Run(ctx, nil, "cat", bootIDPath)
	return strings.TrimSpace(string(out)), err
}

// Apply writes want into the guest and reloads or restarts the engine as
// Effects says, then verifies it; a configuration the engine refuses is
// rolled back to the last good one and reported Failed with the engine's
// own message.
func (a *Applier) Apply(ctx context.Context, want Want) Result {
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	began := now()
	res := a.apply(ctx, want)
	res.Took = now().Sub(began)
	return res
}

func (a *Applier) apply(ctx context.Context, want Want) Result {
	failed := func(format string, args ...any) Result {
		return Result{Outcome: Failed, Message: fmt.Sprintf(format, args...)}
	}
	rec, err := ReadRecord(a.Dir)
	if err != nil {
		rec = nil // a record that does not parse: apply everything again
	}
	boot, err := a.bootID(ctx)
	if err != nil {
		return failed("read the guest's boot id: %v", err)
	}
	version := ""
	if want.Unit == dockerUnit {
		out, err := a.Shell.Run(ctx, nil, "dockerd", "--version")
		if err != nil {
			return failed("find the guest's dockerd: %v", err)
		}
		version = strings.TrimSpace(string(out))
	}
	act := decide(rec, want, version)

	// Files: each is compared with the guest's copy and written only when
	// it differs; a difference the record did not predict (a new disk, a
	// hand edit) restarts the engine so that it runs what is written.
	changedProxy, err := a.writeProxy(ctx, want)
	if err != nil {
		return failed("write the engine's proxy: %v", err)
	}
	changedCA, err := a.writeCACerts(ctx, want)
	if err != nil {
		return failed("add the CA certificates: %v", err)
	}
	if (changedProxy || changedCA) && act < actRestart {
		act = actRestart
	}
	var good []byte
	if want.Unit == dockerUnit {
		cur, _ := a.Shell.Run(ctx, nil, "cat", daemonJSON) // absent: empty
		good, err = a.Shell.Run(ctx, nil, "cat", lastGood)
		if err != nil {
			good = cur
		}
		if len(strings.TrimSpace(string(good))) == 0 {
			good = []byte("{}\n")
		}
		next := want.DaemonJSON()
		if string(cur) != string(next) {
			// What the guest's file holds is what dockerd runs on, whatever
			// the record says (a new disk, a hand edit): the action covers
			// the keys that differ from it too.
			var onDisk map[string]any
			if json.Unmarshal(cur, &onDisk) != nil && len(strings.TrimSpace(string(cur))) > 0 {
				act = actRestart // unreadable: dockerd could not have started on it as rdd knows it
			}
			act = max(act, decide(&Record{State: State{Daemon: onDisk, Proxy: want.Proxy, CACerts: want.CACerts}}, want, version))
			if _, err := a.Shell.Run(ctx, nil, "mkdir", "-p", path.Dir(daemonJSON)); err != nil {
				return failed("create %s: %v", path.Dir(daemonJSON), err)
			}
			if _, err := a.Shell.Run(ctx, next, "tee", daemonNew); err != nil {
				return failed("write %s: %v", daemonNew, err)
			}
			if HasValidate(version) {
				if _, err := a.Shell.Run(ctx, nil, "dockerd", "--validate", "--config-file", daemonNew); err != nil {
					_, _ = a.Shell.Run(ctx, nil, "rm", "-f", daemonNew)
					return failed("dockerd refuses the new daemon.json, which was not installed (the engine keeps its configuration): %v", err)
				}
			}
			if _, err := a.Shell.Run(ctx, nil, "mv", daemonNew, daemonJSON); err != nil {
				return failed("install %s: %v", daemonJSON, err)
			}
		}
	}
	if changedProxy {
		if _, err := a.Shell.Run(ctx, nil, "systemctl", "daemon-reload"); err != nil {
			return failed("systemctl daemon-reload: %v", err)
		}
	}

	cursor := a.cursor(ctx, want.Unit)
	if msg, ok := a.act(ctx, want.Unit, act, cursor); !ok {
		return a.rollback(ctx, want, good, act, msg)
	}
	reg, err := a.verify(ctx, want)
	if err != nil {
		return a.rollback(ctx, want, good, act, err.Error())
	}
	if want.Unit == dockerUnit {
		if _, err := a.Shell.Run(ctx, want.DaemonJSON(), "tee", lastGood); err != nil {
			return failed("keep %s: %v", lastGood, err)
		}
	}
	if err := writeRecord(a.Dir, Record{State: want.State, Digest: want.Digest(), BootID: boot, DockerdVersion: version}); err != nil {
		return failed("%v", err)
	}
	res := Result{Outcome: Applied, Action: act.String(), Digest: want.Digest(), Mirrors: reg.Mirrors, Insecure: reg.insecure()}
	if len(want.NotApplicable) > 0 {
		res.Outcome, res.Message = NotApplicable, strings.Join(want.NotApplicable, "; ")
	}
	return res
}

// act reloads or restarts the engine and reports dockerd's complaint when
// it refused.
func (a *Applier) act(ctx context.Context, unit string, act action, cursor string) (string, bool) {
	switch act {
	case actReload:
		if _, err := a.Shell.Run(ctx, nil, "systemctl", "reload", unit); err != nil {
			return fmt.Sprintf("systemctl reload %s: %v", unit, err), false
		}
		return a.awaitReload(ctx, unit, cursor)
	case actRestart:
		if _, err := a.Shell.Run(ctx, nil, "systemctl", "restart", unit); err != nil {
			return fmt.Sprintf("%s did not come up with the new configuration: %v%s", unit, err, a.journal(ctx, unit, cursor)), false
		}
	}
	return "", true
}

// Lines dockerd logs after SIGHUP (moby v20.10 cmd/dockerd/daemon.go
// reloadConfig and daemon/config Reload; v28 the same words).
var (
	reloadOK      = []string{"Reloaded configuration"}
	reloadRefused = []string{"unable to configure the Docker daemon", "Error reconfiguring the daemon", "Error reloading configuration", "file configuration validation failed"}
)

// awaitReload reads the engine's journal after cursor until dockerd says
// whether it took the new configuration. dockerd reloads asynchronously,
// so the signal's return says nothing.
func (a *Applier) awaitReload(ctx context.Context, unit, cursor string) (string, bool) {
	wait := a.ReloadWait
	if wait <= 0 {
		wait = 15 * time.Second
	}
	deadline := time.Now().Add(wait)
	for {
		lines := a.journalLines(ctx, unit, cursor)
		for _, l := range lines {
			if containsAny(l, reloadRefused) {
				return "dockerd refused the new configuration and keeps its old one:\n  " + strings.Join(matching(lines, reloadRefused), "\n  "), false
			}
		}
		for _, l := range lines {
			if containsAny(l, reloadOK) {
				return "", true
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Sprintf("dockerd did not log whether it reloaded within %s", wait), false
		}
		t := time.NewTimer(200 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
	}
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func matching(lines, subs []string) []string {
	var out []string
	for _, l := range lines {
		if containsAny(l, subs) {
			out = append(out, l)
		}
	}
	return out
}

// cursor is the journal's position before acting (-n 1: journalctl
// prints no cursor when it shows no entry), so that only the
// engine's lines about this change are read ("" when unknown: then the
// last lines are read).
func (a *Applier) cursor(ctx context.Context, unit string) string {
	out, err := a.Shell.Run(ctx, nil, "journalctl", "-u", unit, "-n", "1", "-o", "cat", "--show-cursor", "--no-pager")
	if err != nil {
		return ""
	}
	for line := range strings.Lines(string(out)) {
		if c, ok := strings.CutPrefix(strings.TrimSpace(line), "-- cursor: "); ok {
			return c
		}
	}
	return ""
}

func (a *Applier) journalLines(ctx context.Context, unit, cursor string) []string {
	args := []string{"journalctl", "-u", unit, "--no-pager", "-o", "cat"}
	if cursor != "" {
		args = append(args, "--after-cursor", cursor)
	} else {
		args = append(args, "-n", "20")
	}
	out, _ := a.Shell.Run(ctx, nil, args...)
	var lines []string
	for l := range strings.Lines(string(out)) {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

// journal quotes the engine's last lines after cursor for a message.
func (a *Applier) journal(ctx context.Context, unit, cursor string) string {
	lines := a.journalLines(ctx, unit, cursor)
	if len(lines) > 8 {
		lines = lines[len(lines)-8:]
	}
	if len(lines) == 0 {
		return ""
	}
	return "\n" + unit + " said:\n  " + strings.Join(lines, "\n  ")
}

// rollback puts the last good daemon.json back and brings the engine up on
// it, and reports the failure.
func (a *Applier) rollback(ctx context.Context, want Want, good []byte, act action, msg string) Result {
	res := Result{Outcome: Failed, Action: act.String()}
	if want.Unit != dockerUnit {
		res.Message = msg
		return res
	}
	var errs []string
	if _, err := a.Shell.Run(ctx, good, "tee", daemonJSON); err != nil {
		errs = append(errs, fmt.Sprintf("put the last good daemon.json back: %v", err))
	}
	switch act {
	case actReload:
		// dockerd 20.10 may have applied part of the refused file: reload
		// the last good one over it.
		if _, err := a.Shell.Run(ctx, nil, "systemctl", "reload", dockerUnit); err != nil {
			errs = append(errs, fmt.Sprintf("reload the last good configuration: %v", err))
		}
	case actRestart:
		_, _ = a.Shell.Run(ctx, nil, "systemctl", "reset-failed", dockerUnit) // StartLimitBurst=3 must not keep it down
		if _, err := a.Shell.Run(ctx, nil, "systemctl", "restart", dockerUnit); err != nil {
			errs = append(errs, fmt.Sprintf("restart on the last good configuration: %v", err))
		}
	}
	res.Message = msg + "\nthe last good daemon.json was put back"
	if len(errs) > 0 {
		res.Message += ", but: " + strings.Join(errs, "; ")
	}
	if reg, err := a.registries(ctx); err == nil {
		res.Mirrors, res.Insecure = reg.Mirrors, reg.insecure()
	}
	return res
}

// registryConfig is the part of `docker info`'s RegistryConfig rdd reads.
type registryConfig struct {
	InsecureRegistryCIDRs []string `json:"InsecureRegistryCIDRs"`
	IndexConfigs          map[string]struct {
		Name   string `json:"Name"`
		Secure bool   `json:"Secure"`
	} `json:"IndexConfigs"`
	Mirrors []string `json:"Mirrors"`
}

// insecure lists the insecure registries dockerd reports: its insecure
// CIDRs (without the loopback it always adds) and its insecure indexes.
func (r registryConfig) insecure() []string {
	var out []string
	for _, c := range r.InsecureRegistryCIDRs {
		if c != "127.0.0.0/8" && c != "::1/128" {
			out = append(out, c)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(r.IndexConfigs)) {
		if !r.IndexConfigs[name].Secure {
			out = append(out, name)
		}
	}
	return out
}

func (a *Applier) registries(ctx context.Context) (registryConfig, error) {
	var reg registryConfig
	out, err := a.Shell.Run(ctx, nil, "docker", "info", "--format", "{{json .RegistryConfig}}")
	if err != nil {
		return reg, err
	}
	if err := json.Unmarshal(out, &reg); err != nil {
		return reg, fmt.Errorf("read docker info's RegistryConfig: %w", err)
	}
	return reg, nil
}

// verify checks that dockerd reports every mirror and insecure registry
// (dockerd adds a trailing slash to mirrors).
func (a *Applier) verify(ctx context.Context, want Want) (registryConfig, error) {
	if want.Unit != dockerUnit {
		return registryConfig{}, nil
	}
	reg, err := a.registries(ctx)
	if err != nil {
		return reg, fmt.Errorf("verify with docker info: %w", err)
	}
	var missing []string
	for _, m := range want.Mirrors {
		if !slices.Contains(reg.Mirrors, strings.TrimSuffix(m, "/")+"/") && !slices.Contains(reg.Mirrors, m) {
			missing = append(missing, "mirror "+m)
		}
	}
	ins := reg.insecure()
	for _, r := range want.InsecureRegistries {
		if !slices.Contains(ins, r) {
			missing = append(missing, "insecure registry "+r)
		}
	}
	if len(missing) > 0 {
		return reg, fmt.Errorf("dockerd does not report %s after applying them (docker info: mirrors %v, insecure %v)", strings.Join(missing, ", "), reg.Mirrors, ins)
	}
	return reg, nil
}

// writeProxy keeps the engine's proxy drop-in and rdd's /etc/environment
// block, and reports whether the drop-in changed.
func (a *Applier) writeProxy(ctx context.Context, want Want) (bool, error) {
	file := fmt.Sprintf(dropInFormat, want.Unit)
	cur, _ := a.Shell.Run(ctx, nil, "cat", file)
	next := dropIn(want.Proxy)
	changed := string(cur) != next
	if changed {
		if next == "" {
			if _, err := a.Shell.Run(ctx, nil, "rm", "-f", file); err != nil {
				return false, err
			}
		} else {
			if _, err := a.Shell.Run(ctx, nil, "mkdir", "-p", path.Dir(file)); err != nil {
				return false, err
			}
			if _, err := a.Shell.Run(ctx, []byte(next), "tee", file); err != nil {
				return false, err
			}
		}
	}
	env, _ := a.Shell.Run(ctx, nil, "cat", etcEnv)
	if nextEnv := withEnvBlock(string(env), want.Proxy); nextEnv != string(env) {
		if _, err := a.Shell.Run(ctx, []byte(nextEnv), "tee", etcEnv); err != nil {
			return false, err
		}
	}
	return changed, nil
}

// writeCACerts keeps /usr/local/share/ca-certificates/rdd-N.crt equal to
// want's certificates and runs update-ca-certificates when they changed;
// it reports whether they did.
func (a *Applier) writeCACerts(ctx context.Context, want Want) (bool, error) {
	out, err := a.Shell.Run(ctx, nil, "ls", "-1", caDir)
	if err != nil {
		out = nil // no directory yet
	}
	wantFiles := map[string]string{}
	for i, pem := range want.CACerts {
		wantFiles[fmt.Sprintf("rdd-%d.crt", i+1)] = pem
	}
	changed := false
	for name := range strings.Lines(string(out)) {
		name = strings.TrimSpace(name)
		if strings.HasPrefix(name, "rdd-") && strings.HasSuffix(name, ".crt") {
			if _, keep := wantFiles[name]; !keep {
				if _, err := a.Shell.Run(ctx, nil, "rm", "-f", caDir+"/"+name); err != nil {
					return false, err
				}
				changed = true
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(wantFiles)) {
		cur, _ := a.Shell.Run(ctx, nil, "cat", caDir+"/"+name)
		if string(cur) == wantFiles[name] {
			continue
		}
		if !changed {
			if _, err := a.Shell.Run(ctx, nil, "mkdir", "-p", caDir); err != nil {
				return false, err
			}
		}
		if _, err := a.Shell.Run(ctx, []byte(wantFiles[name]), "tee", caDir+"/"+name); err != nil {
			return false, err
		}
		changed = true
	}
	if changed {
		if _, err := a.Shell.Run(ctx, nil, "update-ca-certificates"); err != nil {
			return false, err
		}
	}
	return changed, nil
}
