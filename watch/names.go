package watch

import "strings"

// Ignored reports whether the base name is one of the temporary or backup
// files of editors and tools that the package documentation lists (vim
// swap files and probe, ~ backups, emacs auto-save and lock files, temp
// files of atomic writers, .bak, GIO and sed -i temp files). A watcher of
// one file ignores them by allow-listing the file's own names; a watcher
// of a directory of files ([Options.Dir]) and its readers ignore them with
// this function, so that a half-saved temp file is never taken for one of
// the files.
func Ignored(name string) bool {
	switch {
	case name == "4913",
		strings.HasSuffix(name, "~"),
		strings.HasPrefix(name, "#") && strings.HasSuffix(name, "#"),
		strings.HasPrefix(name, ".#"),
		strings.HasPrefix(name, ".") && (strings.HasSuffix(name, ".swp") || strings.HasSuffix(name, ".swx") || strings.HasSuffix(name, ".swo")),
		strings.HasSuffix(name, ".tmp"),
		strings.HasPrefix(name, ".tmp-"),
		strings.HasSuffix(name, ".bak"),
		strings.HasPrefix(name, ".goutputstream-"),
		isSedTemp(name):
		return true
	}
	return false
}

// isSedTemp matches GNU sed -i's temp names: "sed" and six letters or
// digits.
func isSedTemp(name string) bool {
	if len(name) != 9 || !strings.HasPrefix(name, "sed") {
		return false
	}
	for _, c := range name[3:] {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
