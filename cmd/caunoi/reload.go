package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/bot"
	"github.com/caunoi/caunoi/knowledge"
)

// reloadDebounce is how long the watcher waits after the last change to
// the handbook before it reloads: an editor saving several files, or one
// file written in several steps, gives one reload.
const reloadDebounce = 300 * time.Millisecond

// editorial serves the editors: it reloads the handbook from its directory,
// groups knowledge gaps and writes handbook drafts. It implements
// bot.Editorial and is safe for concurrent use.
type editorial struct {
	dir    string // handbook directory; empty for the embedded handbook
	fsys   fs.FS
	index  *knowledge.Index
	drafts string
	log    *slog.Logger
	now    func() time.Time

	mu       sync.Mutex
	loadedAt time.Time
}

var _ bot.Editorial = (*editorial)(nil)

// newEditorial returns the editorial of an index just opened from fsys,
// which is the directory dir or, when dir is empty, the embedded handbook.
func newEditorial(dir string, fsys fs.FS, index *knowledge.Index, drafts string, log *slog.Logger, now func() time.Time) *editorial {
	return &editorial{dir: dir, fsys: fsys, index: index, drafts: drafts, log: log, now: now, loadedAt: now()}
}

// LoadedAt is when the handbook now serving was loaded.
func (e *editorial) LoadedAt() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.loadedAt
}

// Reload loads the handbook directory again and swaps the new index in.
// A handbook with errors leaves the serving one in place; the report then
// lists the errors and the error matches caunoi.ErrInvalid. The embedded
// handbook gives bot.ErrNoHandbookDir.
func (e *editorial) Reload(ctx context.Context) (bot.ReloadReport, error) {
	if e.dir == "" {
		return bot.ReloadReport{}, bot.ErrNoHandbookDir
	}
	now := e.now()
	probs, err := e.index.Reload(ctx, e.fsys, now)
	rep := bot.ReloadReport{Version: e.index.Version()}
	for _, p := range probs.Errors() {
		rep.Errors = append(rep.Errors, p.String())
	}
	for _, p := range probs.Warnings() {
		rep.Warnings = append(rep.Warnings, p.String())
	}
	e.mu.Lock()
	if err == nil {
		e.loadedAt = now
	}
	rep.LoadedAt = e.loadedAt
	e.mu.Unlock()
	if h := e.index.Handbook(); h != nil {
		rep.Passages = len(h.Passages)
	}
	return rep, err
}

// Gaps groups gap questions with the default similarity.
func (e *editorial) Gaps(records []caunoi.QuestionRecord, limit int) []caunoi.KnowledgeGap {
	return knowledge.Gaps(records, knowledge.DefaultGapSimilarity, limit)
}

// WriteDraft writes the draft of src into the drafts directory.
func (e *editorial) WriteDraft(ctx context.Context, src caunoi.DraftSource) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	return knowledge.WriteDraft(e.drafts, src, e.now())
}

// watch reloads the handbook whenever a file in its directory tree changes,
// once changes have been quiet for debounce. A reload that fails is logged
// and handed to failed (the bot tells the editors); done, when set, sees
// the outcome of every reload. watch returns when ctx is done.
func (e *editorial) watch(ctx context.Context, debounce time.Duration, failed func(context.Context, bot.ReloadReport) error, done func(bot.ReloadReport, error)) error {
	return e.watchReady(ctx, debounce, failed, done, nil)
}

// watchReady is watch; it closes ready, when set, once the directory tree
// is watched.
func (e *editorial) watchReady(ctx context.Context, debounce time.Duration, failed func(context.Context, bot.ReloadReport) error, done func(bot.ReloadReport, error), ready chan<- struct{}) error {
	if e.dir == "" {
		return nil
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("theo dõi thư mục sổ tay: %w", err)
	}
	defer w.Close()
	if err := addTree(w, e.dir); err != nil {
		return fmt.Errorf("theo dõi thư mục sổ tay %s: %w", e.dir, err)
	}
	e.log.Info("watching handbook", "dir", e.dir)
	if ready != nil {
		close(ready)
	}
	timer := time.NewTimer(debounce)
	timer.Stop()
	pending := false
	for {
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			if ev.Has(fsnotify.Create) {
				if fi, err := os.Stat(ev.Name); err == nil && fi.IsDir() {
					if err := addTree(w, ev.Name); err != nil {
						e.log.Warn("watch new handbook folder", "dir", ev.Name, "err", err)
					}
				}
			}
			if !relevant(ev.Name) || ev.Op == fsnotify.Chmod {
				continue
			}
			pending = true
			timer.Reset(debounce)
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			e.log.Warn("handbook watcher", "err", err)
		case <-timer.C:
			if !pending {
				continue
			}
			pending = false
			rep, err := e.Reload(ctx)
			switch {
			case err == nil:
				e.log.Info("handbook reloaded after a change", "handbook_version", rep.Version, "passages", rep.Passages, "warnings", len(rep.Warnings))
			case ctx.Err() != nil:
				return ctx.Err()
			default:
				e.log.Error("handbook change not applied; the previous version keeps serving",
					"handbook_version", rep.Version, "problems", strings.Join(rep.Errors, "\n"), "err", err)
				if failed != nil && len(rep.Errors) > 0 {
					if nerr := failed(ctx, rep); nerr != nil {
						e.log.Error("tell editors about the handbook errors", "err", nerr)
					}
				}
			}
			if done != nil {
				done(rep, err)
			}
		}
	}
}

// relevant reports whether a change to name can change the handbook: not
// editors' backup and swap files, and not hidden files.
func relevant(name string) bool {
	base := filepath.Base(name)
	switch {
	case strings.HasPrefix(base, "."), strings.HasSuffix(base, "~"),
		strings.HasSuffix(base, ".swp"), strings.HasSuffix(base, ".tmp"):
		return false
	}
	return true
}

// addTree watches dir and every folder below it, except hidden ones, which
// the handbook ignores.
func addTree(w *fsnotify.Watcher, dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while walking
			}
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if p != dir && strings.HasPrefix(d.Name(), ".") {
			return fs.SkipDir
		}
		return w.Add(p)
	})
}
