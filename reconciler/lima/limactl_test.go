package lima

import (
	"strings"
	"testing"
)

func TestParseList(t *testing.T) {
	// Lima 1.x prints one object per line, with every field; Lima 2.x
	// also prints one per line, with empty objects removed.
	v1 := `{"name":"other","hostname":"lima-other","status":"Stopped","dir":"/l/other","vmType":"qemu","arch":"x86_64","cpuType":"","cpus":4,"memory":4294967296,"disk":107374182400,"protected":false,"limaVersion":"1.2.2"}
{"name":"rd","hostname":"lima-rd","status":"Running","dir":"/l/rd","vmType":"qemu","arch":"x86_64","cpuType":"max","cpus":2,"memory":2147483648,"disk":8589934592,"sshLocalPort":60022,"config":{"cpus":2},"protected":false,"limaVersion":"1.2.2","param":{"rddEngine":"moby"}}
`
	v2 := `{"name":"rd","hostname":"lima-rd","status":"Broken","dir":"/l/rd","vmType":"vz","arch":"aarch64","cpus":4,"memory":8589934592,"disk":107374182400,"errors":[{}],"limaVersion":"2.0.1"}` + "\n"
	array := `[{"name":"rd","status":"Stopped","cpus":1}]`
	for _, tc := range []struct {
		name, out string
		n         int
		rd        instance
	}{
		{"v1", v1, 2, instance{Name: "rd", Status: "Running", Dir: "/l/rd", VMType: "qemu", Arch: "x86_64", CPUs: 2, Memory: 2 << 30, Disk: 8 << 30}},
		{"v2", v2, 1, instance{Name: "rd", Status: "Broken", Dir: "/l/rd", VMType: "vz", Arch: "aarch64", CPUs: 4, Memory: 8 << 30, Disk: 100 << 30}},
		{"array", array, 1, instance{Name: "rd", Status: "Stopped", CPUs: 1}},
		{"none", "", 0, instance{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			list, err := parseList([]byte(tc.out))
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != tc.n {
				t.Fatalf("%d instances, want %d", len(list), tc.n)
			}
			if tc.n > 0 && list[len(list)-1] != tc.rd {
				t.Errorf("got %+v, want %+v", list[len(list)-1], tc.rd)
			}
		})
	}
	if _, err := parseList([]byte("not json")); err == nil {
		t.Error("garbage: want an error")
	}
}

func TestQuoteLines(t *testing.T) {
	stderr := `time="2025-01-01T00:00:00Z" level=info msg="Starting the instance \"rd\""
time="2025-01-01T00:00:01Z" level=error msg="boom"

time="2025-01-01T00:00:02Z" level=fatal msg="exiting (hint: see \"/l/rd/ha.stderr.log\")"
`
	got := quoteLines(stderr)
	want := "  time=\"2025-01-01T00:00:01Z\" level=error msg=\"boom\"\n  time=\"2025-01-01T00:00:02Z\" level=fatal msg=\"exiting (hint: see \\\"/l/rd/ha.stderr.log\\\")\""
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	// Without error lines, the last lines are quoted.
	var b strings.Builder
	for i := range 12 {
		b.WriteString("line ")
		b.WriteByte(byte('a' + i))
		b.WriteByte('\n')
	}
	if got := quoteLines(b.String()); !strings.HasPrefix(got, "  line e\n") || !strings.HasSuffix(got, "  line l") {
		t.Errorf("got:\n%s", got)
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "", 4 << 30: "4GiB", 1 << 40: "1TiB", 1536 << 20: "1536MiB", 1000: "1000B"} {
		if got := formatBytes(n); got != want {
			t.Errorf("formatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
