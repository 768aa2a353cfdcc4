package knowledge

import (
	"context"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// settle is how long Run waits after a file event before it re-indexes, so
// that an editor's burst of writes (or a git checkout) becomes one reload.
const settle = 50 * time.Millisecond

// rescanEvery is how often Run scans the whole directory (by default) even when the
// operating system reported no change: a safety net for file systems that
// do not report changes (network mounts) and for events lost on overflow.
const rescanEvery = 5 * time.Second

// notifier reports file changes under the knowledge directory through the
// operating system (inotify, kqueue, ...). Watching costs nothing while no
// file changes, unlike stating every file a few times a second, which took
// several percent of a busy server's CPU with 5,000 entries.
type notifier struct {
	w         *fsnotify.Watcher
	root      string
	recursive bool
}

// newNotifier watches root and, when recursive, every directory below it
// that Run would scan; it fails when the platform or its limits do not
// allow watching.
func newNotifier(root string, recursive bool) (*notifier, error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	n := &notifier{w: w, root: root, recursive: recursive}
	add := n.addTree
	if !recursive {
		add = w.Add
	}
	if err := add(root); err != nil {
		w.Close()
		return nil, err
	}
	return n, nil
}

// addTree watches dir and its non-hidden subdirectories.
func (n *notifier) addTree(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir {
				return err
			}
			return nil // vanished while walking; a later event or rescan sees it
		}
		if !d.IsDir() {
			return nil
		}
		if p != n.root && strings.HasPrefix(d.Name(), ".") {
			return fs.SkipDir
		}
		return n.w.Add(p)
	})
}

// event handles one file event: a new directory is watched too. It reports
// whether the event may change the index.
func (n *notifier) event(ev fsnotify.Event) bool {
	if n.recursive && ev.Has(fsnotify.Create) {
		if fi, err := os.Stat(ev.Name); err == nil && fi.IsDir() && !strings.HasPrefix(fi.Name(), ".") {
			n.addTree(ev.Name) // best effort: the rescan covers a failure
		}
	}
	return ev.Op != fsnotify.Chmod
}

func (n *notifier) close() { n.w.Close() }

// watch re-indexes after file events (and every rescanEvery), until ctx
// ends. It returns false at once, without watching, when the operating
// system cannot watch the directory; Run then polls instead.
func (x *Index) watch(ctx context.Context) (started bool, err error) {
	// A single-file source is watched through its directory (editors and
	// atomic writes replace the file, which ends a watch on the file itself).
	n, err := newNotifier(x.src.root, x.src.only == "")
	if err != nil {
		x.logger().Warn("knowledge: cannot watch the directory; polling instead", slog.String("dir", x.src.root), slog.Any("err", err))
		return false, nil
	}
	defer n.close()
	// Files changed between Open and the start of the watch raised no event.
	if err := x.reloadNotify(ctx); err != nil {
		return true, err
	}
	every := x.cfg.PollInterval
	if every <= 0 {
		every = rescanEvery
	}
	rescan := time.NewTicker(every)
	defer rescan.Stop()
	pending := time.NewTimer(time.Hour)
	pending.Stop()
	defer pending.Stop()
	for {
		select {
		case <-ctx.Done():
			return true, nil
		case ev, ok := <-n.w.Events:
			if !ok {
				return true, nil
			}
			if n.event(ev) {
				pending.Reset(settle)
			}
			continue
		case err, ok := <-n.w.Errors:
			if !ok {
				return true, nil
			}
			// Usually an overflow of the event queue: events were lost, so
			// look at everything.
			x.logger().Warn("knowledge: watching the directory", slog.Any("err", err))
		case <-pending.C:
		case <-rescan.C:
		}
		if err := x.reloadNotify(ctx); err != nil {
			return true, err
		}
	}
}

// reloadNotify applies changed files and tells Config.OnReload.
func (x *Index) reloadNotify(ctx context.Context) error {
	changed, err := x.sync(ctx, false)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	if len(changed) > 0 && x.cfg.OnReload != nil {
		x.cfg.OnReload(changed, x.Problems())
	}
	return nil
}

func (x *Index) logger() *slog.Logger {
	if x.cfg.Logger != nil {
		return x.cfg.Logger
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}
