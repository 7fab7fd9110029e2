package schema

import (
	"os"
	"testing"
	"time"
)

// BenchmarkValidate is the target figure of DESIGN.md section 8 for
// validation: Parse of examples/full.yaml against the bare YAML parse of
// the same bytes (BenchmarkYAMLOnly), interleaved in each iteration so that
// both see the same machine. Reported: parse-us/op, yaml-us/op and
// validate-x, their ratio.
func BenchmarkValidate(b *testing.B) {
	data, err := os.ReadFile("../examples/full.yaml")
	if err != nil {
		b.Fatal(err)
	}
	s := Default()
	var tParse, tYAML time.Duration
	for b.Loop() {
		t0 := time.Now()
		if _, err := parseYAML("full.yaml", data); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if _, err := s.Parse("full.yaml", data); err != nil {
			b.Fatal(err)
		}
		tParse += time.Since(t1)
		tYAML += t1.Sub(t0)
	}
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) / float64(b.N) }
	b.ReportMetric(us(tParse), "parse-us/op")
	b.ReportMetric(us(tYAML), "yaml-us/op")
	b.ReportMetric(float64(tParse)/float64(tYAML), "validate-x")
}
