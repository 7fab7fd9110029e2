package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"howett.net/plist"
)

func testService(t *testing.T, manager string) service {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	home := filepath.Join(t.TempDir(), `odd %h $HOME "home"`)
	return service{Manager: manager, Exe: exe, Home: home, Desired: filepath.Join(home, "d.yaml"),
		Path: "/opt/lima/bin:/usr/bin", Logs: filepath.Join(home, "logs")}
}

// The LaunchAgent decodes with a plist decoder and holds what launchd needs
// to run this rdd for this home at login.
func TestLaunchAgentPlist(t *testing.T) {
	s := testService(t, managerLaunchd)
	data, err := s.render()
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if _, err := plist.Unmarshal(data, &got); err != nil {
		t.Fatalf("decode: %v\n%s", err, data)
	}
	want := map[string]any{
		"Label":            launchdLabel,
		"ProgramArguments": []any{s.Exe, "daemon"},
		"EnvironmentVariables": map[string]any{
			"RDD_HOME": s.Home, "RDD_DESIRED": s.Desired, "PATH": "/opt/lima/bin:/usr/bin",
		},
		"RunAtLoad":         true,
		"KeepAlive":         map[string]any{"SuccessfulExit": false},
		"ProcessType":       "Background",
		"StandardOutPath":   filepath.Join(s.Home, "logs", "launchd.stdout.log"),
		"StandardErrorPath": filepath.Join(s.Home, "logs", "launchd.stderr.log"),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("plist:\n got %#v\nwant %#v", got, want)
	}
}

// The unit quotes what systemd would otherwise expand (%h, $HOME) or split,
// and the real systemd-analyze accepts it.
func TestSystemdUnitVerifies(t *testing.T) {
	s := testService(t, managerSystemd)
	unit := s.unit()
	for _, line := range []string{
		`Environment="RDD_HOME=` + strings.NewReplacer("%", "%%", "$", "$$", `"`, `\"`).Replace(s.Home) + `"`,
		"Restart=on-failure",
		"WantedBy=default.target",
	} {
		if !strings.Contains(unit, "\n"+line+"\n") {
			t.Errorf("unit has no line %s:\n%s", line, unit)
		}
	}
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("systemd-analyze is missing (Debian package systemd)")
		}
		t.Skip("systemd-analyze is not installed")
	}
	path := filepath.Join(t.TempDir(), systemdUnitName)
	if err := os.WriteFile(path, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(analyze, "verify", path).CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s\n%s", err, out, unit)
	}
}
