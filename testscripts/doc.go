// Package testscripts runs rdd's end-to-end behaviour tests: txtar scripts
// under testdata/, executed by testscript with the rdd command registered
// in-process (the same cli.Main the binary runs). Each script states the
// behaviour, or the predecessor-review finding, it guards.
//
// Custom commands available to scripts (see cmds.go):
//
//	exitcode N prog [args...]   run prog (like exec) and require exit code N
//	mkfifo path                 create a named pipe
//	writehex path hex           write raw bytes (non-UTF-8, UTF-16 input)
//	bigfile path size           write a file of size bytes of valid YAML comment
//	waitfile [-timeout d] [!] path [regexp]
//	                            wait until path exists (and matches regexp),
//	                            or with ! until it is gone; fails at the deadline
//
// Set RDD_UPDATE_GOLDEN=1 to rewrite cmp golden files in place.
package testscripts
