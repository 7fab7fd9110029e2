package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"syscall"

	"github.com/fsnotify/fsnotify"
	"github.com/spf13/cobra"

	"github.com/rddproject/rdd/home"
	"github.com/rddproject/rdd/reconciler/lima"
)

// followLines is how many lines -f shows before following when -n is not
// given, as tail -f does.
const followLines = 10

func (a *app) logsCommand() *cobra.Command {
	var follow, vm bool
	var lines int
	cmd := &cobra.Command{
		Use:   "logs [-f] [--vm] [-n N]",
		Short: "Print the daemon's log, or Lima's logs of the VM",
		Long: `Print the daemon's log (HOME/logs/daemon.log), or with --vm the logs of the
Lima instance: its host agent's stderr (ha.stderr.log) and its serial
consoles (serial*.log), each under a ==> name <== header.

Without -n every line is printed; -n N prints the last N lines. -f prints
the last 10 lines (or -n N) and then every line written, until interrupted;
it follows a file that is truncated or replaced, and with --vm a serial log
that appears later.`,
		Example: `  rdd logs -n 20
  rdd logs -f
  rdd logs --vm -n 50
  rdd logs --vm -f`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			h, err := a.home()
			if err != nil {
				return err
			}
			n := -1
			switch {
			case cmd.Flags().Changed("lines"):
				if lines < 0 {
					return withCode(ExitUsage, fmt.Errorf("-n %d: want 0 or more lines", lines))
				}
				n = lines
			case follow:
				n = followLines
			}
			dir, pattern := logFiles(h, vm)
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
			defer stop()
			return a.logs(ctx, dir, pattern, n, follow, vm)
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing lines as they are written, until interrupted")
	cmd.Flags().BoolVar(&vm, "vm", false, "Lima's host agent and serial logs instead of the daemon's")
	cmd.Flags().IntVarP(&lines, "lines", "n", 0, "print only the last N lines (default all; 10 with -f)")
	return cmd
}

// logFiles is the directory of the logs asked for and the patterns of
// their names, in the order they are printed.
func logFiles(h home.Home, vm bool) (string, []string) {
	if vm {
		return filepath.Join(h.Lima(), lima.Name), []string{"ha.stderr.log", "serial*.log"}
	}
	return h.Logs(), []string{home.LogFile}
}

// logFile is one file being printed: how far it has been read, and which
// file that was (to notice a replaced one).
type logFile struct {
	path string
	off  int64
	info fs.FileInfo
}

// logs prints the last n lines (n < 0: all) of the files matching patterns
// in dir, then with follow every byte appended to them. The directory
// watch exists before the files are first read: nothing written between
// the two is missed.
func (a *app) logs(ctx context.Context, dir string, patterns []string, n int, follow, many bool) error {
	var w *fsnotify.Watcher
	if follow {
		var err error
		if w, err = fsnotify.NewWatcher(); err != nil {
			return err
		}
		defer w.Close()
		if err := w.Add(dir); err != nil {
			return withCode(ExitFailed, fmt.Errorf("follow logs in %s: %w", dir, err), logsHint(many))
		}
	}
	files := map[string]*logFile{}
	var last string // the file whose bytes were printed last, for headers
	printFrom := func(f *logFile, tail int) error {
		if many && last != f.path {
			if last != "" {
				fmt.Fprintln(a.stdout)
			}
			fmt.Fprintf(a.stdout, "==> %s <==\n", f.path)
			last = f.path
		}
		return f.copy(a.stdout, tail)
	}
	for _, path := range matchLogs(dir, patterns) {
		f := &logFile{path: path}
		files[path] = f
		if err := printFrom(f, n); err != nil {
			return err
		}
	}
	if len(files) == 0 && !follow {
		return withCode(ExitFailed, fmt.Errorf("no log in %s yet (%v)", dir, patterns), logsHint(many))
	}
	if !follow {
		return nil
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-w.Errors:
			return fmt.Errorf("follow logs in %s: %w", dir, err)
		case ev := <-w.Events:
			if !matches(patterns, filepath.Base(ev.Name)) {
				continue
			}
			f := files[ev.Name]
			if f == nil {
				f = &logFile{path: ev.Name} // a new file: print it whole
				files[ev.Name] = f
			}
			if err := printFrom(f, -1); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
}

func logsHint(vm bool) string {
	if vm {
		return "Lima writes these once the VM was created (`rdd set running=true`)"
	}
	return "the daemon writes its log once started (`rdd daemon`)"
}

// matchLogs lists the files of dir matching patterns, in pattern order.
func matchLogs(dir string, patterns []string) []string {
	var out []string
	for _, p := range patterns {
		m, _ := filepath.Glob(filepath.Join(dir, p))
		slices.Sort(m)
		out = append(out, m...)
	}
	return out
}

func matches(patterns []string, name string) bool {
	for _, p := range patterns {
		if ok, _ := filepath.Match(p, name); ok {
			return true
		}
	}
	return false
}

// copy writes what f holds beyond what was read: on the first read only
// the last tail lines (tail < 0: all). A file shorter than what was read
// was truncated, and another file under the name was replaced: both are
// read again from the start.
func (f *logFile) copy(out io.Writer, tail int) error {
	file, err := os.Open(f.path)
	if err != nil {
		return err
	}
	defer file.Close()
	fi, err := file.Stat()
	if err != nil {
		return err
	}
	first := f.info == nil
	if !first && (!os.SameFile(f.info, fi) || fi.Size() < f.off) {
		f.off = 0
	}
	f.info = fi
	if first && tail >= 0 {
		if f.off, err = tailOffset(file, fi.Size(), tail); err != nil {
			return err
		}
	}
	if _, err := file.Seek(f.off, io.SeekStart); err != nil {
		return err
	}
	n, err := io.Copy(out, file)
	f.off += n
	return err
}

// tailOffset is where the last n lines of file (size bytes) start, found
// by reading backwards: a long log is not read whole. A last line without
// its newline yet counts as a line.
func tailOffset(file *os.File, size int64, n int) (int64, error) {
	if n == 0 {
		return size, nil
	}
	const chunk = 64 << 10
	buf := make([]byte, chunk)
	end := size
	newlines := 0
	for end > 0 {
		start := max(0, end-chunk)
		b := buf[:end-start]
		if _, err := file.ReadAt(b, start); err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		for i := len(b) - 1; i >= 0; i-- {
			if b[i] != '\n' || start+int64(i) == size-1 {
				continue // the file's final newline ends the last line
			}
			newlines++
			if newlines == n {
				return start + int64(i) + 1, nil
			}
		}
		end = start
	}
	return 0, nil
}
