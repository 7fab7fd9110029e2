package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/rogpeppe/go-internal/lockedfile"
	"github.com/spf13/cobra"

	"github.com/rddproject/rdd/atomicfile"
	"github.com/rddproject/rdd/desiredit"
	"github.com/rddproject/rdd/home"
	"github.com/rddproject/rdd/schema"
	"github.com/rddproject/rdd/watch"
)

func (a *app) setCommand() *cobra.Command {
	var timeout, daemonWait time.Duration
	var noWait, dryRun bool
	cmd := &cobra.Command{
		Use: "set KEY=VALUE... [--timeout 5m] [--no-wait] [--dry-run]",
		Example: `  rdd set vm.driver=host running=true
  rdd set vm.cpus=4 vm.memory=8GiB
  rdd set containers.web.state=stopped --timeout 1m
  rdd set 'images."busybox:1.36".state=absent' --dry-run
  rdd set vm.cpus=         # remove the key: its default applies`,
		ValidArgsFunction: completeKeys(true),
		Short:             "Change desired values, keeping the file's comments, and wait for the verdict",
		Long: `Change values of the desired file and wait until the daemon has reconciled
the result. KEY is a dotted path of the schema (vm.cpus, running,
containers.web.state); a map key holding dots, slashes or colons is quoted:
images."ghcr.io/x/y:1".state=absent. VALUE is read as the schema's type for
KEY (true/false, a number, a size such as 8GiB, one of an enum, a string);
an empty VALUE removes the key, so its default applies. A list or a mapping
is given whole, in YAML flow syntax, and written so on its key's line:
  rdd set 'vm.mounts=[{location: ~/src, writable: true}]'
  rdd set 'containers={web: {state: running}}'
  rdd set 'vm.mounts=[]'
Inside it YAML's own rules apply, as in the file: quote a string that
would read as a number or true/false (labels={tier: "1"}).

All pairs are applied as one edit: one write, one verdict. The edit keeps
the file's comments, key order, quoting and blank lines; a missing file is
created. The whole result is validated first: when it is invalid nothing is
written and rdd set exits 3. The file is replaced atomically under a lock,
so concurrent rdd set commands lose nothing. A desired file that is a
symlink is edited at its target, and the link is kept; a read-only target
(no write permission bit, even for root) is refused.

Exit codes: 0 ready, 1 failed (with the reason), 2 usage, 3 invalid,
4 timed out, 5 no daemon running (the file has been changed all the same).
--no-wait returns after the write; --dry-run prints the change as a
unified diff and writes nothing.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			changes, err := parseChanges(args)
			if err != nil {
				return err
			}
			h, err := a.home()
			if err != nil {
				return err
			}
			target, err := desiredTarget(h.Desired)
			if err != nil {
				return err
			}
			if dryRun {
				return a.setDryRun(h, target, changes)
			}
			data, changed, err := a.setWrite(h, target, changes)
			if err != nil {
				return err
			}
			return a.waitWritten(cmd.Context(), h, target, data, changed, noWait, timeout, daemonWait)
		},
	}
	fl := cmd.Flags()
	fl.DurationVar(&timeout, "timeout", 5*time.Minute, "give up waiting after this long (exit 4)")
	fl.BoolVar(&noWait, "no-wait", false, "return after writing the file, without waiting for the verdict")
	fl.DurationVar(&daemonWait, "daemon-wait", defaultDaemonWait, "how long a daemon that is starting may take to answer before exit 5")
	fl.BoolVar(&dryRun, "dry-run", false, "validate and print the change as a unified diff; write nothing")
	return cmd
}

// waitWritten is what rdd set (and rdd rollback) do once data is in the
// desired file: say so on a terminal, and unless noWait, wait for the
// daemon's verdict on exactly that digest.
func (a *app) waitWritten(ctx context.Context, h home.Home, target string, data []byte, changed, noWait bool, timeout, daemonWait time.Duration) error {
	digest := schema.Digest(data)
	tty := isTerminal(a.stderr)
	if tty {
		if changed {
			fmt.Fprintf(a.stderr, "rdd: changed %s (%s)\n", target, shortDigest(digest))
		} else {
			fmt.Fprintf(a.stderr, "rdd: %s already has these values; nothing written\n", target)
		}
	}
	if noWait {
		return nil
	}
	if up, err := awaitDaemon(ctx, h, daemonWait); err != nil {
		return err
	} else if !up {
		return withCode(ExitNoDaemon, fmt.Errorf("no rdd daemon is running for %s; %s holds the change, which applies when the daemon starts", h.Dir, target),
			"start it with `rdd daemon`, or pass --no-wait to only change the file")
	}
	if tty {
		fmt.Fprintf(a.stderr, "rdd: waiting for the daemon's verdict on %s (up to %s)\n", shortDigest(digest), timeout)
	}
	if err := a.wait(ctx, h, waitSpec{digest: digest, timeout: timeout}); err != nil {
		return err
	}
	if tty {
		fmt.Fprintf(a.stderr, "ready: generation %d\n", a.readyGeneration)
	}
	return nil
}

// change is one KEY=VALUE argument, read by the schema.
type change struct {
	path  []string
	value any // bool, int64, string, or a *yaml.Node list or mapping; nil removes the key
}

// parseAssignment splits a KEY=VALUE argument at the first '=' outside a
// quoted key segment (a quoted map key may hold '=') and parses the key
// path.
func parseAssignment(arg string) (path []string, value string, err error) {
	if !utf8.ValidString(arg) {
		return nil, "", fmt.Errorf("%q is not valid UTF-8", arg)
	}
	inQuote := false
	for i := 0; i < len(arg); i++ {
		switch c := arg[i]; {
		case inQuote && c == '\\':
			i++
		case c == '"':
			inQuote = !inQuote
		case c == '=' && !inQuote:
			path, err := schema.ParsePath(arg[:i])
			if err != nil {
				return nil, "", err
			}
			return path, arg[i+1:], nil
		}
	}
	return nil, "", fmt.Errorf("%q is not KEY=VALUE", arg)
}

// parseChanges reads every argument; bad syntax is a usage error (exit 2),
// a key or value the schema refuses is invalid (exit 3). Every bad
// argument is reported, not only the first.
func parseChanges(args []string) ([]change, error) {
	var changes []change
	var invalid []string
	for _, arg := range args {
		path, text, err := parseAssignment(arg)
		if err != nil {
			return nil, withCode(ExitUsage, err,
				`write KEY=VALUE, such as vm.cpus=4; quote map keys holding dots or colons: images."busybox:1.36".state=absent`)
		}
		v, err := schema.Default().ParseValue(path, text)
		if err != nil {
			invalid = append(invalid, err.Error())
			continue
		}
		changes = append(changes, change{path: path, value: v})
	}
	if len(invalid) > 0 {
		return nil, withCode(ExitInvalid, errors.New(strings.Join(invalid, "\n")),
			"nothing was written; `rdd schema` shows every field and its allowed values")
	}
	return changes, nil
}

// desiredTarget is the file a write must replace: the desired file, or the
// final target of its symlinks, so the links stay.
func desiredTarget(desired string) (string, error) {
	chain, err := watch.Resolve(desired)
	if err != nil {
		if _, rerr := schema.ReadFile(desired); rerr != nil {
			return "", withCode(ExitInvalid, rerr, "point the desired file at a real file")
		}
		return "", err
	}
	return chain[len(chain)-1], nil
}

// edit applies changes to the desired file's bytes (nil for no file) and
// validates the whole result under the desired file's name.
func edit(name string, old []byte, changes []change) ([]byte, error) {
	doc, err := desiredit.Parse(old)
	if err != nil {
		if _, perr := schema.Default().Parse(name, old); perr != nil {
			return nil, withCode(ExitInvalid, perr, "nothing was written; fix the file first (`rdd validate` checks it)")
		}
		return nil, fmt.Errorf("read %s for editing: %w", name, err)
	}
	for _, c := range changes {
		if c.value != nil {
			err = doc.Set(c.path, c.value)
		} else {
			err = remove(doc, c.path)
		}
		if err != nil {
			return nil, withCode(ExitFailed, fmt.Errorf("%s: %w", name, err), "nothing was written; make this change with an editor")
		}
	}
	data := doc.Bytes()
	if _, err := schema.Default().Parse(name, data); err != nil {
		if _, oerr := schema.Default().Parse(name, old); oerr != nil {
			return nil, withCode(ExitInvalid, oerr,
				"nothing was written; the file was invalid before this change: fix it (`rdd validate`), then run rdd set again")
		}
		// The file is not written, so positions in it would point nowhere:
		// say which keys are wrong.
		var lines []string
		for _, e := range schema.AsErrors(err) {
			lines = append(lines, (&schema.Error{Path: e.Path, Msg: e.Msg}).Error())
		}
		return nil, withCode(ExitInvalid, fmt.Errorf("%s would be invalid after this change:\n%s", name, strings.Join(lines, "\n")),
			"nothing was written; `rdd schema` shows every field")
	}
	return data, nil
}

// remove deletes path, then the records on the way that it left empty
// (vm: with nothing under it), up to a map entry or the root: an entry
// such as containers.web stays, because declaring it means something.
func remove(doc *desiredit.Doc, path []string) error {
	removed, err := doc.Delete(path)
	if err != nil || !removed {
		return err
	}
	s := schema.Default()
	for p := path[:len(path)-1]; len(p) > 0 && doc.IsEmpty(p); p = p[:len(p)-1] {
		kind, _ := s.Kind(p)
		parent, _ := s.Kind(p[:len(p)-1])
		if kind != schema.KindRecord || parent != schema.KindRecord {
			break
		}
		if _, err := doc.Delete(p); err != nil {
			return err
		}
	}
	return nil
}

// statTarget checks the file a change applies to: nil when it does not
// exist yet; anything but a regular file of reasonable size is refused as
// `rdd validate` refuses it.
func statTarget(target string) (fs.FileInfo, error) {
	fi, err := os.Stat(target)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err == nil && fi.Mode().IsRegular() && fi.Size() <= schema.MaxFileSize:
		return fi, nil
	}
	if _, rerr := schema.ReadFile(target); rerr != nil {
		return nil, withCode(ExitInvalid, rerr, "nothing was written")
	}
	return nil, fmt.Errorf("stat %q: %w", target, err)
}

// readTarget reads the file a change applies to; nil when it does not
// exist yet.
func readTarget(target string) ([]byte, fs.FileInfo, error) {
	fi, err := statTarget(target)
	if err != nil || fi == nil {
		return nil, nil, err
	}
	data, err := schema.ReadFile(target)
	if err != nil {
		if errors.Is(statErr(target), fs.ErrNotExist) {
			return nil, nil, nil // removed since
		}
		return nil, nil, withCode(ExitInvalid, err, "nothing was written")
	}
	return data, fi, nil
}

func (a *app) setDryRun(h home.Home, target string, changes []change) error {
	old, fi, err := readTarget(target)
	if err != nil {
		return err
	}
	data, err := edit(h.Desired, old, changes)
	if err != nil {
		return err
	}
	oldName := target
	if fi == nil {
		oldName = "/dev/null"
	}
	if _, err := a.stdout.Write(desiredit.Diff(oldName, target, old, data)); err != nil {
		return err
	}
	if fi != nil && bytes.Equal(old, data) {
		return nil // no change, no plan
	}
	d, err := schema.Default().Parse(h.Desired, data)
	if err != nil {
		return withCode(ExitInvalid, err, invalidHint) // edit validated it already
	}
	fmt.Fprintln(a.stdout)
	return printPlan(a.stdout, a.planOf(h, schema.Digest(data), d), "")
}

// maxAttempts bounds how often a write starts over because the file was
// replaced while it waited for the lock.
const maxAttempts = 100

// setWrite applies changes to the target under its lock and replaces it
// atomically. It returns the bytes the file now holds and whether they
// changed. The lock is an flock on the target itself, taken before it is
// read: a writer that waited for it checks that the name still refers to
// the file it locked (an earlier writer renamed a new file over it) and
// starts over if not. No lock file is left beside the target (a dotfiles
// repository stays clean). A missing file is created with link(2), which
// fails if another writer created it first; that writer's file is then
// edited in turn.
func (a *app) setWrite(h home.Home, target string, changes []change) ([]byte, bool, error) {
	return writeDesired(h.Desired, target, func(old []byte) ([]byte, error) { return edit(h.Desired, old, changes) })
}

// writeDesired replaces target, the file that the desired file desired is
// or links to, with what apply makes of its current bytes (nil for no
// file), under its lock, as setWrite describes.
func writeDesired(desired, target string, apply func(old []byte) ([]byte, error)) ([]byte, bool, error) {
	for range maxAttempts {
		fi, err := statTarget(target)
		if err != nil {
			return nil, false, err
		}
		if fi == nil {
			data, err := apply(nil)
			if err != nil {
				return nil, false, err
			}
			switch err := createFile(target, data); {
			case errors.Is(err, fs.ErrExist):
				continue
			case err != nil:
				return nil, false, err
			}
			return data, true, nil
		}
		if err := checkWritable(desired, target, fi); err != nil {
			return nil, false, err
		}
		f, err := lockedfile.OpenFile(target, os.O_RDWR, 0)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, false, fmt.Errorf("lock %q: %w", target, err)
		}
		data, changed, again, err := editLocked(f, target, apply)
		f.Close()
		if again {
			continue
		}
		return data, changed, err
	}
	return nil, false, fmt.Errorf("%s keeps being replaced by other writers; try again", target)
}

// editLocked does the read-modify-write while f holds the lock; again
// means the name no longer refers to the locked file.
func editLocked(f *lockedfile.File, target string, apply func(old []byte) ([]byte, error)) (data []byte, changed, again bool, err error) {
	locked, err := f.Stat()
	if err != nil {
		return nil, false, false, fmt.Errorf("stat %q: %w", target, err)
	}
	if cur, err := os.Stat(target); err != nil || !os.SameFile(locked, cur) {
		return nil, false, true, nil
	}
	old, err := schema.ReadFile(target)
	if err != nil {
		return nil, false, false, withCode(ExitInvalid, err, "nothing was written")
	}
	if data, err = apply(old); err != nil {
		return nil, false, false, err
	}
	if bytes.Equal(old, data) {
		return data, false, false, nil
	}
	if err := replaceFile(target, data, locked); err != nil {
		return nil, false, false, err
	}
	return data, true, false, nil
}

// checkWritable refuses a read-only target. Read-only means no write
// permission bit at all, a read-only file system, or no write permission
// for this user. Root may write any file, but a file made read-only (a
// home-manager link into the Nix store, a chmod a-w to protect it) is
// respected, as vim's :w respects it.
func checkWritable(desired, target string, fi fs.FileInfo) error {
	why := ""
	switch err := syscall.Access(target, 2 /* W_OK */); {
	case fi.Mode().Perm()&0o222 == 0:
		why = fmt.Sprintf("is read-only (mode %s)", fi.Mode().Perm())
	case errors.Is(err, syscall.EROFS):
		why = "is on a read-only file system"
	case err != nil:
		why = fmt.Sprintf("is not writable by this user (mode %s)", fi.Mode().Perm())
	default:
		return nil
	}
	what := target
	if target != desired {
		what = fmt.Sprintf("%s (the target of %s)", target, desired)
	}
	return withCode(ExitFailed, fmt.Errorf("%s %s; rdd set does not change read-only files", what, why),
		fmt.Sprintf("make it writable (`chmod u+w %s`), or change it where it comes from (a dotfile manager's source)", target))
}

// replaceFile writes data to a temporary file beside target and renames
// it over target: readers see the old bytes or the new, never a part. The
// mode (and, for root, the owner) of the old file are kept.
func replaceFile(target string, data []byte, old fs.FileInfo) error {
	var o atomicfile.Options
	if st, ok := old.Sys().(*syscall.Stat_t); ok && os.Geteuid() == 0 {
		o.Prepare = func(f *os.File) error {
			_ = f.Chown(int(st.Uid), int(st.Gid)) // best effort: root editing a user's file
			return nil
		}
	}
	if err := atomicfile.WriteWith(target, data, old.Mode().Perm(), o); err != nil {
		return fmt.Errorf("cannot replace %s atomically: %w", target, unwrapPath(err))
	}
	return nil
}

// createFile creates target holding data, failing with fs.ErrExist if it
// exists by then. The bytes are complete before the name appears.
func createFile(target string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return fmt.Errorf("create directory for %q: %w", target, err)
	}
	err := atomicfile.Create(target, data, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return fs.ErrExist
	}
	return err
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
