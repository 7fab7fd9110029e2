// Package cli implements the rdd command line. cmd/rdd's main only calls
// Main, so tests register the very same code in-process (testscript).
//
// Output rules: stdout carries only the answer a command was asked for;
// progress, logs and problems go to stderr as `rdd: error: ...` followed by
// `rdd: hint: ...` lines that say what to do next. Exit codes are those of
// the design contract: 0 ready/ok, 1 failed, 2 usage, 3 invalid desired
// state, 4 timed out, 5 daemon not running.
package cli
