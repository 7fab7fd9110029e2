package main

import (
	"strings"
	"testing"
)

// The table has one line per target in the fixed form, figures from the
// metrics named after the targets (the median of repeated lines), skipped
// targets as MISS with a note, and a note for a scaled target measured
// small.
func TestReport(t *testing.T) {
	in := `goos: linux
pkg: github.com/rddproject/rdd/bench
BenchmarkEditToReady-2   	     200	  21015153 ns/op	 1.1 bare-p50-ms	 2.40 edit-to-ready-x	 12.6 edit-to-ready-p99-ms
BenchmarkEditToReady-2   	     200	  21015153 ns/op	 1.1 bare-p50-ms	 3.60 edit-to-ready-x	 30.0 edit-to-ready-p99-ms
BenchmarkEditToReady-2   	     200	  21015153 ns/op	 1.1 bare-p50-ms	 2.80 edit-to-ready-x	 22.0 edit-to-ready-p99-ms
    bench_test.go:12: BenchmarkEditToReady is a log line 1 edit-to-ready-x
BenchmarkValidate-2   	     100	  1 ns/op	 2.5 validate-x
BenchmarkNoopResync-2   	  20	  1 ns/op	 0 full-sync-writes	 50 containers
BenchmarkFullSync-2   	  20	  1 ns/op	 1.05 full-sync-x	 1000 containers
BenchmarkIdle-2   	  1	  1 ns/op	 0.1 idle-cpu-%
ok  	github.com/rddproject/rdd/bench	13.688s
`
	res, err := parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if res.failed {
		t.Error("failed, want not")
	}
	want := `target edit-to-ready 2.80x 3x ok
target edit-to-ready-p99 22.0ms 20ms MISS
target validate 2.50x 3x ok
target declared-stop skipped 1.1x MISS
target full-sync 1.05x 1.1x ok
target full-sync-writes 0 0 ok
target event-to-file skipped 2x MISS
target event-to-file-p99 skipped 20ms MISS
target rss-5000 skipped 60MB MISS
target idle-cpu 0.100% 0.1% MISS
# declared-stop: skipped; run go test ./reconciler/docker -run '^$' -bench DeclaredStop -benchtime 20x
# full-sync-writes: measured with 50 containers; the target is stated at 1000: make bench SCALE=1
# event-to-file: skipped; run make bench SCALE=1
# event-to-file-p99: skipped; run make bench SCALE=1
# rss-5000: skipped; run make bench SCALE=1
`
	if got := render(res); got != want {
		t.Errorf("table:\n%s\nwant:\n%s", got, want)
	}
}

// A failed benchmark or package makes the report fail after the table.
func TestReportFailed(t *testing.T) {
	for _, in := range []string{
		"--- FAIL: BenchmarkFullSync\n    bench_test.go:1: boom\n",
		"FAIL\tgithub.com/rddproject/rdd/schema [build failed]\n",
	} {
		res, err := parse(strings.NewReader(in))
		if err != nil {
			t.Fatal(err)
		}
		if !res.failed {
			t.Errorf("%q: not failed", in)
		}
	}
}
