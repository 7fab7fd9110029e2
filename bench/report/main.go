// Command report reads the output of `go test -bench` on stdin and prints
// the summary table of DESIGN.md section 8: one line per target,
//
//	target NAME MEASURED LIMIT ok|MISS
//
// Each target's figure is the benchmark metric named after it (see
// package bench), reported by the benchmark that measures it next to its
// baseline in the same run. A target no benchmark reported is printed as
// skipped, counts as MISS, and a note below the table says how to measure
// it. When several lines report a metric (-count), the median is used.
//
// report exits 1 when the input shows a failed benchmark or test (after
// printing the table), 2 when it cannot read its input, and 0 otherwise: a
// MISS is a figure, not a failure.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

// unit says how a figure and its limit print.
type unit int

const (
	ratio unit = iota // measured / baseline, "2.4x"
	ms                // milliseconds, "12.3ms"
	mb                // megabytes, "48.0MB"
	pct               // percent of one CPU, "0.05%"
	count             // a number of things, "0"
)

// target is one line of the table.
type target struct {
	name   string
	metric string  // the benchmark metric holding the figure
	limit  float64 // the figure must be <= limit (< limit when strict)
	strict bool
	unit   unit
	how    string // how to measure it when it is skipped
	scaled bool   // stated with 1,000 containers; the figure says at how many
}

// targets are DESIGN.md section 8, in its order.
var targets = []target{
	{name: "edit-to-ready", metric: "edit-to-ready-x", limit: 3, unit: ratio, how: "go test ./bench -run '^$' -bench EditToReady -benchtime 200x"},
	{name: "edit-to-ready-p99", metric: "edit-to-ready-p99-ms", limit: 20, unit: ms, how: "go test ./bench -run '^$' -bench EditToReady -benchtime 200x"},
	{name: "validate", metric: "validate-x", limit: 3, unit: ratio, how: "go test ./schema -run '^$' -bench Validate"},
	{name: "declared-stop", metric: "declared-stop-x", limit: 1.1, unit: ratio, how: "go test ./reconciler/docker -run '^$' -bench DeclaredStop -benchtime 20x"},
	{name: "full-sync", metric: "full-sync-x", limit: 1.1, unit: ratio, scaled: true, how: "make bench SCALE=1"},
	{name: "full-sync-writes", metric: "full-sync-writes", limit: 0, unit: count, scaled: true, how: "make bench SCALE=1"},
	{name: "event-to-file", metric: "event-to-file-x", limit: 2, unit: ratio, scaled: true, how: "make bench SCALE=1"},
	{name: "event-to-file-p99", metric: "event-to-file-p99-ms", limit: 20, unit: ms, scaled: true, how: "make bench SCALE=1"},
	{name: "rss-5000", metric: "rss-5000-MB", limit: 60, unit: mb, how: "make bench SCALE=1"},
	{name: "idle-cpu", metric: "idle-cpu-%", limit: 0.1, strict: true, unit: pct, how: "make bench SCALE=1 (or RDD_BENCH_IDLE=60s go test ./bench -run '^$' -bench Idle -benchtime 1x)"},
}

// scaleContainers is the engine size the scaled targets are stated at.
const scaleContainers = 1000

func main() {
	res, err := parse(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(2)
	}
	fmt.Print(render(res))
	if res.failed {
		fmt.Fprintln(os.Stderr, "report: a benchmark or test failed; see above")
		os.Exit(1)
	}
}

// results are the metrics read, by name, and the container counts seen
// next to them.
type results struct {
	metrics    map[string][]float64
	containers map[string][]float64 // by metric: the "containers" metric of the same line
	failed     bool
}

// parse reads benchmark output: lines such as
//
//	BenchmarkEditToReady-2   200   21015153 ns/op   2.4 edit-to-ready-x   12.3 p99-ms
//
// and notes FAIL lines.
func parse(r io.Reader) (*results, error) {
	res := &results{metrics: map[string][]float64{}, containers: map[string][]float64{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "FAIL") || strings.HasPrefix(strings.TrimSpace(line), "--- FAIL") {
			res.failed = true
		}
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue // a benchmark's log line, not its result
		}
		got := map[string]float64{}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				break
			}
			got[f[i+1]] = v
		}
		for _, t := range targets {
			v, ok := got[t.metric]
			if !ok {
				continue
			}
			res.metrics[t.metric] = append(res.metrics[t.metric], v)
			if c, ok := got["containers"]; ok {
				res.containers[t.metric] = append(res.containers[t.metric], c)
			}
		}
	}
	return res, sc.Err()
}

// render prints the table, then notes on what was skipped or measured
// below the scale a target is stated at.
func render(res *results) string {
	var b, notes strings.Builder
	for _, t := range targets {
		vs := res.metrics[t.metric]
		if len(vs) == 0 {
			fmt.Fprintf(&b, "target %s skipped %s MISS\n", t.name, format(t.unit, t.limit, true))
			fmt.Fprintf(&notes, "# %s: skipped; run %s\n", t.name, t.how)
			continue
		}
		v := median(vs)
		ok := v <= t.limit
		if t.strict {
			ok = v < t.limit
		}
		status := "MISS"
		if ok {
			status = "ok"
		}
		fmt.Fprintf(&b, "target %s %s %s %s\n", t.name, format(t.unit, v, false), format(t.unit, t.limit, true), status)
		if cs := res.containers[t.metric]; t.scaled && len(cs) > 0 && median(cs) < scaleContainers {
			fmt.Fprintf(&notes, "# %s: measured with %d containers; the target is stated at %d: %s\n", t.name, int(median(cs)), scaleContainers, t.how)
		}
	}
	return b.String() + notes.String()
}

// format prints v in u; a limit prints without trailing zeros.
func format(u unit, v float64, limit bool) string {
	num := func(prec int) string {
		if limit {
			return strconv.FormatFloat(v, 'f', -1, 64)
		}
		return strconv.FormatFloat(v, 'f', prec, 64)
	}
	switch u {
	case ratio:
		return num(2) + "x"
	case ms:
		return num(1) + "ms"
	case mb:
		return num(1) + "MB"
	case pct:
		return num(3) + "%"
	}
	return num(0)
}

func median(vs []float64) float64 {
	s := slices.Sorted(slices.Values(vs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
