package knowledge

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// SynonymsFile is the name of the synonyms file inside a knowledge directory.
const SynonymsFile = "synonyms.txt"

// isEntryFile reports whether a file name holds entries (Markdown, CSV or JSONL).
func isEntryFile(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".md", ".markdown", ".csv", ".jsonl":
		base := path.Base(name)
		return !strings.HasPrefix(base, ".") && !strings.EqualFold(base, "README.md")
	}
	return false
}

// parseFile parses one knowledge file by its extension.
func parseFile(name string, data []byte) ([]Entry, error) {
	switch strings.ToLower(path.Ext(name)) {
	case ".csv":
		return ReadCSV(bytes.NewReader(data), name, idPrefixFor(name))
	case ".jsonl":
		return ReadJSONL(bytes.NewReader(data), name)
	default:
		e, err := ParseEntry(name, data)
		if err != nil {
			return nil, err
		}
		return []Entry{e}, nil
	}
}

// problemOf turns a parse error into a Problem.
func problemOf(name string, err error) Problem {
	var pe *ParseError
	if errors.As(err, &pe) {
		return pe.Problem
	}
	return Problem{File: name, Reason: strings.TrimPrefix(err.Error(), "knowledge: ")}
}

// Load reads the entries of a knowledge directory (every *.md, *.csv and *.jsonl
// file in it and its subdirectories) or of a single such file.
//
// Files that do not parse are reported as problems and skipped; the error is
// only for an unreadable path.
func Load(p string) ([]Entry, []Problem, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, nil, fmt.Errorf("knowledge: %w", err)
	}
	if !st.IsDir() {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, nil, fmt.Errorf("knowledge: %w", err)
		}
		es, err := parseFile(p, data)
		if err != nil {
			return nil, []Problem{problemOf(p, err)}, nil
		}
		return es, nil, nil
	}
	files, err := readTree(os.DirFS(p))
	if err != nil {
		return nil, nil, err
	}
	var entries []Entry
	var problems []Problem
	for _, f := range files {
		name := filepath.Join(p, filepath.FromSlash(f.name))
		es, err := parseFile(name, f.data)
		if err != nil {
			problems = append(problems, problemOf(name, err))
			continue
		}
		entries = append(entries, es...)
	}
	return entries, problems, nil
}

// treeFile is one entry file read from a directory tree.
type treeFile struct {
	name string // slash-separated, relative to the root
	data []byte
}

// readTree reads every entry file under fsys, sorted by name.
func readTree(fsys fs.FS) ([]treeFile, error) {
	var out []treeFile
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != "." && strings.HasPrefix(d.Name(), ".") {
				return fs.SkipDir
			}
			return nil
		}
		if !isEntryFile(p) {
			return nil
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		out = append(out, treeFile{name: p, data: data})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("knowledge: read directory: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

// Lint checks entries for problems that span entries: duplicate ids, the same
// question in two entries, empty answers and unknown skills (when skills is
// non-empty). Findings are sorted by file and line.
func Lint(entries []Entry, skills []string) []Problem {
	var ps []Problem
	known := map[string]bool{}
	for _, s := range skills {
		known[s] = true
	}
	ids := map[string]Entry{}
	type qpos struct {
		e Entry
		i int
	}
	questions := map[string]qpos{}
	for _, e := range entries {
		if prev, ok := ids[e.ID]; ok {
			ps = append(ps, Problem{File: e.File, Line: e.Line, Reason: fmt.Sprintf("duplicate id %q (first at %s:%d)", e.ID, prev.File, prev.Line)})
		} else {
			ids[e.ID] = e
		}
		if strings.TrimSpace(e.Answer) == "" {
			ps = append(ps, Problem{File: e.File, Line: e.bodyLine(), Reason: fmt.Sprintf("entry %s has an empty answer", e.ID)})
		}
		if len(known) > 0 && e.Skill != "" && !known[e.Skill] {
			ps = append(ps, Problem{File: e.File, Line: e.skillLine(), Reason: fmt.Sprintf("entry %s: unknown skill %q (known: %s)", e.ID, e.Skill, strings.Join(skills, ", "))})
		}
		seen := map[string]bool{}
		for i, q := range e.Questions {
			key := QuestionKey(q)
			if key == "" || seen[key] {
				continue
			}
			seen[key] = true
			if prev, ok := questions[key]; ok && prev.e.ID != e.ID {
				ps = append(ps, Problem{File: e.File, Line: e.questionLine(i), Reason: fmt.Sprintf("question %q of %s is also in %s (%s:%d)", q, e.ID, prev.e.ID, prev.e.File, prev.e.questionLine(prev.i))})
				continue
			}
			questions[key] = qpos{e, i}
		}
	}
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].File != ps[j].File {
			return ps[i].File < ps[j].File
		}
		return ps[i].Line < ps[j].Line
	})
	return ps
}

// QuestionKey normalises a question for comparison: width and case folded,
// everything but letters and digits dropped. Two questions with the same key
// are the same question: Lint reports them in two entries, Index.Add refuses
// a new entry with one, and a query with the key of a question of the best
// entry (and of no other candidate) is never ambiguous.
func QuestionKey(q string) string {
	var b strings.Builder
	for _, r := range q {
		r = foldRune(r)
		if isWordRune(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}
