package schema

import (
	"bytes"
	"fmt"
	"os"
	"testing"
	"time"
)

// BenchmarkValidate is the target figure of DESIGN.md section 8 for
// validation: Parse of examples/full.yaml against the bare YAML parse of
// the same bytes (BenchmarkYAMLOnly), interleaved in each iteration so that
// both see the same machine. Parse remembers the sections it validated
// (sections.go), so there are three cases:
//
//   - edit: each iteration changes one value of the largest section
//     (vm.memory), as a save in an editor does; the other sections are
//     remembered. This is the target figure, validate-x.
//   - same: the same bytes again (a restart, `rdd set` reading the file
//     it is about to change): validate-same-x.
//   - cold: nothing remembered, a Schema's first parse: validate-cold-x.
//
// Each reports parse-us/op, yaml-us/op and the ratio.
func BenchmarkValidate(b *testing.B) {
	data, err := os.ReadFile("../examples/full.yaml")
	if err != nil {
		b.Fatal(err)
	}
	const memory = "memory: 8GiB"
	if !bytes.Contains(data, []byte(memory)) {
		b.Fatalf("examples/full.yaml has no %q to edit", memory)
	}
	for _, c := range []struct {
		name, metric string
		edit, cold   bool
	}{
		{"edit", "validate-x", true, false},
		{"same", "validate-same-x", false, false},
		{"cold", "validate-cold-x", false, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			s, err := New("linux")
			if err != nil {
				b.Fatal(err)
			}
			var tParse, tYAML time.Duration
			i := 0
			for b.Loop() {
				i++
				doc := data
				if c.edit {
					doc = bytes.Replace(data, []byte(memory), fmt.Appendf(nil, "memory: %dGiB", i%999_999+1), 1)
				}
				if c.cold {
					s.mu.Lock()
					s.paths, s.sections = nil, nil
					s.mu.Unlock()
				}
				t0 := time.Now()
				if _, err := parseYAML("full.yaml", doc); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				if _, err := s.Parse("full.yaml", doc); err != nil {
					b.Fatal(err)
				}
				tParse += time.Since(t1)
				tYAML += t1.Sub(t0)
			}
			us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) / float64(b.N) }
			b.ReportMetric(us(tParse), "parse-us/op")
			b.ReportMetric(us(tYAML), "yaml-us/op")
			b.ReportMetric(float64(tParse)/float64(tYAML), c.metric)
		})
	}
}
