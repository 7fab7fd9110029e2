// Package bench holds rdd's end-to-end benchmarks: the daemon binary is
// built once and driven through real files, real fsnotify and the machine's
// dockerd (vm.driver: host). Each figure is reported next to a baseline
// measured in the same run, because absolute times on a shared 2-core
// machine mean little; compare the ratio.
//
//	make bench                     # all benchmarks, short
//	go test ./bench -bench EditToReady -benchtime 200x
//	RDD_BENCH_IDLE=60s go test ./bench -bench Idle -benchtime 1x
package bench
