// Package watch turns every way a person or a tool can change the desired
// file into coalesced wake-ups for the daemon's single reconcile loop. A
// wake-up carries no content and no event type: it only says "something may
// have changed", and the loop re-reads the file (level-triggered).
//
// # Directories, not files
//
// Most savers never write the file in place: they write a new file and rename
// it over the old one, or delete and re-create it. A watch on the file would
// follow the old inode and go deaf after the first save. So the watcher
// watches the parent directory and keeps only events on the names it cares
// about. These are the names in the path's symlink chain ([Resolve]): the
// file itself, each symlink that leads to it (a link swapped by stow or
// chezmoi, a middle link of a chain, a link that home-manager points into a
// new store directory) and any symlinked directory on the way. Every event
// on one of those names re-resolves the chain and moves the directory
// watches with it; the directories of targets no longer in the chain are
// dropped, so edits there no longer wake anyone. If a directory on the way
// does not exist yet, the nearest existing ancestor is watched for the
// missing name, and the watches descend as the directories appear. A watched
// directory that is removed or renamed is a change as well.
//
// The save patterns this covers, each with a test:
//
//   - in place: open with O_TRUNC, write, close (nano, cp over, naive editors)
//   - write a temp file, rename it over the name (VS Code, atomic savers,
//     sed -i, git checkout)
//   - vim: rename the file to name~, write a new file, delete the backup,
//     with .name.swp swap files and a 4913 probe alongside
//   - delete, then create; or delete only (the loop finds it missing)
//   - git checkout: unlink and create, or write a temp name and rename
//   - symlinks: a link retargeted by renaming a new link over it (ln -sfn,
//     stow), a changed middle link, a link re-pointed into another directory
//   - a parent directory created after the watcher started
//
// # A directory of files
//
// [Options.Dir] adds a directory whose matching entries are watched like
// the file (rdd's desired.d/ of fragments). The directory's own name is
// resolved like the file's, so it may be a symlink (a stow-folded
// dotfiles directory), be replaced, or appear after the watcher started.
// Its real directory is watched, and an event on any entry that
// [Options.Match] accepts and [Ignored] does not refuse is a change: a
// fragment added, removed, emptied, renamed over or written in place.
// Each such entry that is a symlink has its chain watched too, so an
// edit of its target wakes. A git checkout writing four fragments is one
// burst, so one wake-up (below).
//
// # Ignored names
//
// Events on any other name in a watched directory are ignored. That is an
// allow-list, not a deny-list, so unknown editors are covered too; it drops
// in particular these temporary and backup files of editors and tools:
//
//	.name.swp .name.swx .name.swo   vim swap files
//	4913                            vim's probe for a writable directory
//	name~                           vim and emacs backups
//	#name#  .#name                  emacs auto-save files and lock links
//	*.tmp  .*.tmp  .tmp-*           temp files of atomic writers
//	*.bak                           backups
//	.goutputstream-*                GNOME (GIO) atomic saves
//	sedXXXXXX                       sed -i temp files
//
// Such a name is ignored only while it is not in the chain: a desired file
// named x.bak is watched like any other, and renaming a temp file onto the
// watched name is an event on the watched name, so it wakes.
//
// # Debounce with a cap
//
// One save is often several events (truncate, write, chmod; rename and
// create), and a script may write a hundred times in a row. A wake-up comes
// [Options.Debounce] after the last relevant event, so a burst ends in one
// wake-up after its last write, but never later than [Options.MaxDelay]
// after the burst's first event, so a file that keeps changing still gets
// read. The wake-up channel holds one value and is fed without blocking: a
// loop busy with a long pass finds one wake-up waiting, not a queue of them.
// An fsnotify error such as a queue overflow means events may have been
// lost; it is sent on [Watcher.Errors], re-resolves the chain and also
// wakes the loop. No error ends the watch.
//
// # Half-written files
//
// The debounce means the loop normally reads after the writer is done.
// [ReadStable] covers the rest: it reads until two consecutive reads agree
// and nothing about the file changed while reading. A write that lands after
// a read still sends an event, so the loop is woken again and converges on
// the final content; an empty file read just after a truncate is followed by
// the wake-up of the write that fills it.
//
// # Portability and limits
//
// Only fsnotify's portable operations are used, so the package works with
// inotify (Linux) and kqueue (macOS, BSD). With kqueue, fsnotify holds a
// file descriptor for every file in a watched directory, so a desired file
// in a crowded directory costs descriptors; so does a symlinked directory on
// the way (a stow-folded ~/.rd), whose parent, the home directory, must be
// watched to see the link swapped. Other ancestors are not watched:
// renaming an ancestor of the file's directory away is noticed only at the
// next event on a watched name. Network and FUSE file systems may send no events at
// all; the daemon's periodic resync covers them.
package watch
