// Package bench holds rdd's end-to-end benchmarks: the daemon binary is
// built once and driven through real files, real fsnotify and the machine's
// dockerd (vm.driver: host). Each figure is reported next to a baseline
// measured in the same run, because absolute times on a shared 2-core
// machine mean little; compare the ratio.
//
//	make bench                     # all benchmarks, then the summary table
//	make bench SCALE=1             # also the figures at scale (long)
//	go test ./bench -run '^$' -bench EditToReady -benchtime 200x
//	RDD_BENCH_IDLE=60s go test ./bench -run '^$' -bench Idle -benchtime 1x
//
// # The summary table
//
// make bench ends with one line per target of DESIGN.md section 8, printed
// by bench/report from the benchmark output:
//
//	target NAME MEASURED LIMIT ok|MISS
//
// Each target's figure is a benchmark metric named after the target, so
// that the report needs to know no benchmark's name; the benchmark that
// measures a target reports it with b.ReportMetric next to its own
// detailed metrics:
//
//	target             metric                 benchmark                        limit
//	edit-to-ready      edit-to-ready-x        bench EditToReady                p50 <= 3x the bare fsnotify+read+validate
//	edit-to-ready-p99  edit-to-ready-p99-ms   bench EditToReady                p99 <= 20ms
//	validate           validate-x             schema Validate                  <= 3x the bare YAML parse
//	declared-stop      declared-stop-x        reconciler/docker DeclaredStop   <= 1.1x the bare API stop
//	full-sync          full-sync-x            reconciler/docker FullSync       <= 1.1x the bare list+inspect
//	full-sync-writes   full-sync-writes       reconciler/docker NoopResync     0 files written by a no-op full sync
//	event-to-file      event-to-file-x        reconciler/docker EventLatency   p50 <= 2x the bare event+inspect
//	event-to-file-p99  event-to-file-p99-ms   reconciler/docker EventLatency   p99 <= 20ms
//	rss-5000           rss-5000-MB            reconciler/docker (5,000)        <= 60MB
//	idle-cpu           idle-cpu-%             bench Idle                       < 0.1% over 60s
//
// validate-x is BenchmarkValidate/edit: examples/full.yaml with one value
// of its largest section (vm) changed in every iteration, as an editor's
// save does. The schema remembers the sections it validated (schema's
// sections.go), so BenchmarkParseTypical, the same bytes again, costs far
// less (validate-same-x); validate-cold-x is a schema's first parse.
//
// The targets with two limits print two lines: edit-to-ready (the p50
// ratio) and edit-to-ready-p99 (ms), event-to-file and event-to-file-p99,
// full-sync (the ratio) and full-sync-writes (a count). MEASURED and LIMIT
// are ratios ("2.40x 3x") except p99 in ms, RSS in MB, CPU in % and the
// count of files written. A ratio is the p50 (the mean for a full sync)
// over the baseline's, measured interleaved in the same run.
//
// The figures at scale are gated so that the default make bench stays
// under 10 minutes: idle-cpu runs only with RDD_BENCH_IDLE set, rss-5000
// only at scale, and full-sync and event-to-file run with 50 containers
// unless RDD_BENCH_CONTAINERS says otherwise. make bench SCALE=1 sets them
// all (1,000 containers, 300 volumes, 100 tags, 60s idle). A target that no
// benchmark reported prints "skipped" as MEASURED and counts as MISS, and a
// note below the table says how to measure it; a scaled target measured
// with fewer than 1,000 containers gets a note too.
package bench
