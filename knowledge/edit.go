package knowledge

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// ErrNoEntry means no live entry has the id given to Update or Delete.
var ErrNoEntry = errors.New("knowledge: no such entry")

// ErrReadOnlyEntry means Update or Delete cannot change an entry where it is
// kept; the error is a *ReadOnlyError.
var ErrReadOnlyEntry = errors.New("knowledge: entry cannot be changed where it is kept")

// Origin says where a live entry is kept, which decides whether Update and
// Delete may change it.
type Origin string

// The origins of entries; only OriginMarkdown entries are editable.
const (
	// OriginMarkdown is an entry in its own Markdown file in the knowledge directory.
	OriginMarkdown Origin = "markdown"
	// OriginMultiEntry is an entry of a CSV or JSONL file in the knowledge directory.
	OriginMultiEntry Origin = "multi_entry_file"
	// OriginSingleFile is an entry of a knowledge base that is one file (Config.Dir names a file).
	OriginSingleFile Origin = "single_file"
	// OriginStarter is an entry of the embedded starter set.
	OriginStarter Origin = "starter"
)

// Editable reports whether Update and Delete may change entries of this origin.
func (o Origin) Editable() bool { return o == OriginMarkdown }

// ReadOnlyError says why Update or Delete refused an entry.
type ReadOnlyError struct {
	// ID is the entry's id.
	ID string
	// File is the entry's file relative to the knowledge directory.
	File string
	// Origin is where the entry is kept (never OriginMarkdown).
	Origin Origin
}

func (e *ReadOnlyError) Error() string {
	return fmt.Sprintf("knowledge: entry %s (%s) cannot be changed: origin %s", e.ID, e.File, e.Origin)
}

// Unwrap makes errors.Is(err, ErrReadOnlyEntry) hold.
func (e *ReadOnlyError) Unwrap() error { return ErrReadOnlyEntry }

// Stored is a live entry with where it is kept, as editors see it.
type Stored struct {
	Entry
	// Path is the entry's file relative to the knowledge directory,
	// slash-separated (for the starter set, relative to the set).
	Path string
	// Origin says where the entry is kept and so whether it is editable.
	Origin Origin
}

// List returns every live entry with where it is kept, sorted by id.
func (x *Index) List() []Stored {
	x.mu.RLock()
	defer x.mu.RUnlock()
	out := make([]Stored, 0, len(x.entries))
	for _, le := range x.entries {
		out = append(out, x.stored(le))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Lookup returns the live entry id with where it is kept.
func (x *Index) Lookup(id string) (Stored, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	le, ok := x.entries[id]
	if !ok {
		return Stored{}, false
	}
	return x.stored(le), true
}

// stored describes a live entry; it needs x.mu held.
func (x *Index) stored(le *liveEntry) Stored {
	s := Stored{Entry: le.Entry, Path: le.file, Origin: OriginMarkdown}
	switch {
	case x.src.embedded:
		s.Origin = OriginStarter
	case x.src.only != "":
		s.Origin = OriginSingleFile
	case !isMarkdown(le.file):
		s.Origin = OriginMultiEntry
	}
	return s
}

// isMarkdown reports whether a file name is a Markdown entry file (one entry).
func isMarkdown(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".md", ".markdown":
		return true
	}
	return false
}

// RelativeProblems is Problems with file names relative to the knowledge
// directory, in File and in the reasons, for people who should not learn
// the server's paths.
func (x *Index) RelativeProblems() []Problem {
	ps := x.Problems()
	prefix := x.src.display("")
	if prefix == "" || prefix == "." {
		return ps
	}
	sep := string(filepath.Separator)
	if x.src.embedded {
		sep = "/"
	}
	prefix = strings.TrimSuffix(prefix, sep) + sep
	for i := range ps {
		ps[i].File = filepath.ToSlash(strings.TrimPrefix(ps[i].File, prefix))
		ps[i].Reason = strings.ReplaceAll(ps[i].Reason, prefix, "")
	}
	return ps
}

// Update replaces the questions, answer, skill and tags of the live entry
// e.ID with e's and makes the change live before it returns; the entry's
// other fields (lang, links, further answers) are kept, and the file is
// rewritten atomically in the standard format (comments in it are not
// kept). Only an entry in its own Markdown file can be changed
// (*ReadOnlyError otherwise); ErrNoEntry when no live entry has the id. As
// with Add, the change is refused (ErrExists, *ConflictError) when another
// live entry has one of the questions, and questions repeated within the
// entry are kept once. Updates, deletes and adds are serialised.
func (x *Index) Update(ctx context.Context, e Entry) (Entry, error) {
	x.addMu.Lock()
	defer x.addMu.Unlock()
	ctx = context.WithoutCancel(ctx) // a request's end must not stop a reload half-way
	cur, err := x.editable(ctx, e.ID)
	if err != nil {
		return Entry{}, err
	}
	next := cur.Entry
	next.Questions = uniqueQuestions(e.Questions)
	next.Answer = e.Answer
	if len(cur.Answers) > 1 {
		next.Answers = append([]string{e.Answer}, cur.Answers[1:]...)
	}
	next.Skill, next.Tags = e.Skill, e.Tags
	next.File, next.Line, next.pos = cur.Path, 0, positions{}
	if err := next.validate(true); err != nil {
		return Entry{}, err
	}
	if err := x.questionConflict(next); err != nil {
		return Entry{}, err
	}
	data, err := MarshalEntry(next)
	if err != nil {
		return Entry{}, err
	}
	if err := writeFileAtomic(filepath.Join(x.src.root, filepath.FromSlash(cur.Path)), data); err != nil {
		return Entry{}, err
	}
	x.forget(cur.Path)
	if err := x.syncReport(ctx); err != nil {
		return Entry{}, err
	}
	return next, nil
}

// Delete removes the file of the live entry id and the entry from the index
// before it returns. Only an entry in its own Markdown file can be deleted
// (*ReadOnlyError otherwise); ErrNoEntry when no live entry has the id.
func (x *Index) Delete(ctx context.Context, id string) error {
	x.addMu.Lock()
	defer x.addMu.Unlock()
	ctx = context.WithoutCancel(ctx)
	cur, err := x.editable(ctx, id)
	if err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(x.src.root, filepath.FromSlash(cur.Path))); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("knowledge: delete %s: %w", cur.Path, err)
	}
	return x.syncReport(ctx)
}

// editable re-reads changed files and returns the live entry id when Update
// and Delete may change it; it needs x.addMu held.
func (x *Index) editable(ctx context.Context, id string) (Stored, error) {
	if err := x.syncReport(ctx); err != nil {
		return Stored{}, err
	}
	cur, ok := x.Lookup(id)
	if !ok {
		return Stored{}, fmt.Errorf("knowledge: entry %q: %w", id, ErrNoEntry)
	}
	if !cur.Origin.Editable() {
		return Stored{}, &ReadOnlyError{ID: cur.ID, File: cur.Path, Origin: cur.Origin}
	}
	return cur, nil
}

// questionConflict returns a *ConflictError when a live entry other than
// e.ID has one of e's questions (compared as QuestionKey does).
func (x *Index) questionConflict(e Entry) error {
	want := map[string]string{} // question key -> e's question
	for _, q := range e.Questions {
		if k := QuestionKey(q); k != "" {
			want[k] = q
		}
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	ids := make([]string, 0, len(x.entries))
	for id := range x.entries {
		ids = append(ids, id)
	}
	sort.Strings(ids) // the same entry is named each time
	for _, id := range ids {
		le := x.entries[id]
		if id == e.ID {
			continue
		}
		for _, q := range le.Questions {
			if mine, ok := want[QuestionKey(q)]; ok {
				return &ConflictError{ID: id, File: le.file, Question: mine}
			}
		}
	}
	return nil
}

// forget makes the next sync read a file again whatever its size and time
// (a rewrite of the same size within the file system's time resolution
// would otherwise look unchanged).
func (x *Index) forget(name string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if f, ok := x.files[name]; ok {
		f.stat = fileStat{}
	}
}
