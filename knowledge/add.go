package knowledge

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ErrReadOnly means the knowledge base cannot take new entries: the embedded
// starter set, or a single file rather than a directory.
var ErrReadOnly = errors.New("knowledge: read-only knowledge base")

// ErrExists means a new entry's id or one of its questions is already in the
// knowledge base; the error is a *ConflictError.
var ErrExists = errors.New("knowledge: already in the knowledge base")

// ConflictError says what a new entry clashes with. Ids are compared
// ignoring case (file names on some systems do).
type ConflictError struct {
	// ID is the existing entry with the same id or question ("" when only a
	// file of that name exists, one that does not parse).
	ID string
	// File is where the existing entry (or file) is, relative to the directory.
	File string
	// Question is the new entry's question that the existing entry already
	// has; "" when the id clashes.
	Question string
}

func (e *ConflictError) Error() string {
	switch {
	case e.Question != "":
		return fmt.Sprintf("knowledge: question %q is already a question of entry %s (%s)", e.Question, e.ID, e.File)
	case e.ID == "":
		return fmt.Sprintf("knowledge: a file %s exists", e.File)
	}
	return fmt.Sprintf("knowledge: an entry with id %s exists (%s)", e.ID, e.File)
}

// Unwrap makes errors.Is(err, ErrExists) hold.
func (e *ConflictError) Unwrap() error { return ErrExists }

// Add writes a new entry into the knowledge directory as <id>.md and makes it
// live before it returns, so the next search finds it; the entry returned has
// File set to "<id>.md". The entry is refused
// (ErrExists) when a live entry, from any file, has its id or one of its
// questions (compared after folding case and width and dropping spaces and
// punctuation, as QuestionKey does); questions repeated within the entry are
// kept once. The embedded starter set and a single-file source answer
// ErrReadOnly. Adds are serialised; the directory is re-read first, so files
// written by others meanwhile count too.
func (x *Index) Add(ctx context.Context, e Entry) (Entry, error) {
	if x.src.embedded || x.src.only != "" {
		return Entry{}, ErrReadOnly
	}
	e.Questions = uniqueQuestions(e.Questions)
	e.File, e.Line = "", 0
	if err := e.validate(true); err != nil {
		return Entry{}, err
	}
	x.addMu.Lock()
	defer x.addMu.Unlock()
	// A request's cancellation must not stop a reload half-way.
	ctx = context.WithoutCancel(ctx)
	if err := x.syncReport(ctx); err != nil {
		return Entry{}, err
	}
	x.mu.RLock()
	live := make([]Entry, 0, len(x.entries))
	for _, le := range x.entries {
		c := le.Entry
		c.File = le.file
		live = append(live, c)
	}
	x.mu.RUnlock()
	if err := conflictWith(e, live); err != nil {
		return Entry{}, err
	}
	if err := writeNew(x.src.root, e); err != nil {
		return Entry{}, err
	}
	if err := x.syncReport(ctx); err != nil {
		return Entry{}, err
	}
	e.File = e.ID + ".md"
	return e, nil
}

// AddToDir writes a new entry into the knowledge directory dir as <id>.md,
// for a program that has no Index on it: like Index.Add, but the entry is
// checked against the entries of the files in dir (files that do not parse
// are skipped) and becomes live when an Index watching dir reloads. It does
// not serialise callers. dir "" or a file answers ErrReadOnly.
func AddToDir(dir string, e Entry) (Entry, error) {
	if dir == "" {
		return Entry{}, ErrReadOnly
	}
	st, err := os.Stat(dir)
	if err != nil {
		return Entry{}, fmt.Errorf("knowledge: %w", err)
	}
	if !st.IsDir() {
		return Entry{}, ErrReadOnly
	}
	e.Questions = uniqueQuestions(e.Questions)
	e.File, e.Line = "", 0
	if err := e.validate(true); err != nil {
		return Entry{}, err
	}
	live, _, err := Load(dir)
	if err != nil {
		return Entry{}, err
	}
	for i := range live {
		if rel, err := filepath.Rel(dir, live[i].File); err == nil {
			live[i].File = filepath.ToSlash(rel)
		}
	}
	if err := conflictWith(e, live); err != nil {
		return Entry{}, err
	}
	if err := writeNew(dir, e); err != nil {
		return Entry{}, err
	}
	e.File = e.ID + ".md"
	return e, nil
}

// syncReport re-reads changed files and reports them through Config.OnReload,
// as Run does.
func (x *Index) syncReport(ctx context.Context) error {
	changed, err := x.sync(ctx, false)
	if err != nil {
		return err
	}
	if len(changed) > 0 && x.cfg.OnReload != nil {
		x.cfg.OnReload(changed, x.Problems())
	}
	return nil
}

// conflictWith returns a *ConflictError when a live entry (File relative to
// the directory) has e's id or one of its questions.
func conflictWith(e Entry, live []Entry) error {
	want := map[string]string{} // question key -> e's question
	for _, q := range e.Questions {
		if k := QuestionKey(q); k != "" {
			want[k] = q
		}
	}
	var byQuestion *ConflictError
	for _, l := range live {
		if strings.EqualFold(l.ID, e.ID) {
			return &ConflictError{ID: l.ID, File: l.File}
		}
		if byQuestion != nil {
			continue
		}
		for _, q := range l.Questions {
			if mine, ok := want[QuestionKey(q)]; ok {
				byQuestion = &ConflictError{ID: l.ID, File: l.File, Question: mine}
				break
			}
		}
	}
	if byQuestion != nil {
		return byQuestion
	}
	return nil
}

// writeNew writes e as dir/<id>.md unless a file of that name (one that does
// not parse, or one written meanwhile) is there.
func writeNew(dir string, e Entry) error {
	name := filepath.Join(dir, e.ID+".md")
	if _, err := os.Stat(name); err == nil {
		return &ConflictError{File: e.ID + ".md"}
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("knowledge: %w", err)
	}
	_, err := WriteEntryFile(dir, e)
	return err
}

// uniqueQuestions keeps the first of questions that have the same QuestionKey.
func uniqueQuestions(qs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, q := range qs {
		k := QuestionKey(q)
		if k == "" {
			k = q // nothing but punctuation: only the same text repeats it
		}
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, q)
	}
	return out
}
