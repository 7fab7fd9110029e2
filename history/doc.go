// Package history keeps the desired contents that the daemon applied, byte
// for byte, in $RDD_HOME/run/history/, so that a person who edits the file
// by hand has a way back to the configuration that worked yesterday
// (`rdd history`, `rdd diff`, `rdd rollback`).
//
// Each entry is one directory, named by its generation zero-padded to ten
// digits so that a listing sorts by age:
//
//	run/history/                 mode 0700; directories 0700, files 0600
//	  0000000012/
//	    meta.yaml                an [Entry]: generation, digest, time, verdict, files
//	    desired.yaml             the bytes applied, as listed in Entry.Files
//
// An entry lists its files by path relative to the home's desired input, so
// that content made of several files (fragments) fits the same layout: each
// file is stored under its own path in the entry's directory.
//
// The daemon is the only writer. An entry appears whole or not at all: its
// files are written into a temporary directory (named with [TempPrefix]),
// synced, and the directory is renamed into place. The verdict is added to
// meta.yaml later, by replacing it atomically. Only the newest [Keep]
// entries are kept. Nothing is ever opened through a symbolic link planted
// in the directory: files are created exclusively, and entries that are not
// real directories are ignored by readers and replaced by the writer.
package history
