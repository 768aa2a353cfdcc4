package knowledge

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
)

// ReadCSV reads entries from CSV rows "question, similar questions, answer, skill".
//
// Similar questions are separated by "|" or new lines; a first row whose first
// cell is "question" is a header. Ids are idPrefix-N with N the 1-based data row.
func ReadCSV(r io.Reader, name, idPrefix string) ([]Entry, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	var out []Entry
	row := 0
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, parseErr(name, pe.Line, "csv: %v", pe.Err)
			}
			return nil, parseErr(name, line, "csv: %v", err)
		}
		if row == 0 && len(rec) > 0 && strings.EqualFold(strings.TrimSpace(strings.TrimPrefix(rec[0], "\ufeff")), "question") {
			row = -1 // header; the next row is data row 1
		}
		row++
		if row == 0 {
			continue
		}
		if len(rec) < 3 {
			return nil, parseErr(name, line, "csv: want at least 3 columns (question, similar questions, answer), got %d", len(rec))
		}
		e := Entry{
			ID:        fmt.Sprintf("%s-%d", idPrefix, row),
			Questions: []string{strings.TrimSpace(rec[0])},
			Answer:    strings.TrimSpace(rec[2]),
			File:      name,
			Line:      line,
		}
		for _, q := range strings.FieldsFunc(rec[1], func(r rune) bool { return r == '|' || r == '\n' }) {
			if q = strings.TrimSpace(q); q != "" {
				e.Questions = append(e.Questions, q)
			}
		}
		if len(rec) > 3 {
			e.Skill = strings.TrimSpace(rec[3])
		}
		if e.Questions[0] == "" {
			return nil, parseErr(name, line, "csv: empty question")
		}
		if err := e.validate(true); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// jsonlEntry is one line of the JSONL import format.
type jsonlEntry struct {
	ID        string   `json:"id"`
	Question  string   `json:"question"`
	Questions []string `json:"questions"`
	Answer    string   `json:"answer"`
	Answers   []string `json:"answers"`
	Skill     string   `json:"skill"`
	Tags      []string `json:"tags"`
	Lang      string   `json:"lang"`
	Links     []Link   `json:"links"`
}

// ReadJSONL reads entries from JSON lines {"id","question","answer"} with optional
// "questions" (alternatives), "answers" (several answers), "skill", "tags", "lang".
//
// Entries without an answer are accepted, so that question-only collections
// (such as evaluation sets) can be indexed; Lint reports them.
func ReadJSONL(r io.Reader, name string) ([]Entry, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	var out []Entry
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var j jsonlEntry
		if err := json.Unmarshal(b, &j); err != nil {
			return nil, parseErr(name, line, "json: %v", err)
		}
		e := Entry{ID: strings.TrimSpace(j.ID), Skill: j.Skill, Tags: j.Tags, Lang: j.Lang, Links: j.Links, File: name, Line: line}
		for _, q := range append([]string{j.Question}, j.Questions...) {
			if q = strings.TrimSpace(q); q != "" && !contains(e.Questions, q) {
				e.Questions = append(e.Questions, q)
			}
		}
		for _, a := range append([]string{j.Answer}, j.Answers...) {
			if a = strings.TrimSpace(a); a != "" && !contains(e.Answers, a) {
				e.Answers = append(e.Answers, a)
			}
		}
		if len(e.Answers) > 0 {
			e.Answer = e.Answers[0]
		}
		if len(e.Answers) == 1 {
			e.Answers = nil
		}
		if err := e.validate(false); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("knowledge: read %s: %w", name, err)
	}
	return out, nil
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

var nonIDRE = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// idPrefixFor derives an id prefix from a file name ("faq/Top FAQ.csv" -> "top-faq").
func idPrefixFor(name string) string {
	base := strings.TrimSuffix(path.Base(strings.ReplaceAll(name, "\\", "/")), path.Ext(name))
	p := strings.Trim(nonIDRE.ReplaceAllString(strings.ToLower(base), "-"), "-._")
	if p == "" {
		return "csv"
	}
	return p
}

// Import is what `kb import` writes: entries whose ids are unique across the
// imported files, since each becomes the file <id>.md.
type Import struct {
	// Entries in file order.
	Entries []Entry
	// Notes say which CSV files got other ids than <name>-<row>, and why.
	Notes []string
}

// ReadImport reads CSV and JSONL files for `kb import`, in order, so that no
// two entries share an id (ignoring case, as file names on some systems do):
// an id given by two JSONL lines is an error; a CSV file whose generated ids
// <name>-<row> are taken (by an earlier CSV file of the same name, or by a
// JSONL id) gets the prefix <folder>-<name> (its parent folder), else
// <name>-2, <name>-3, ..., and a note says so. A file given twice is an error.
func ReadImport(paths []string) (Import, error) {
	type file struct {
		path    string
		entries []Entry
		csv     bool
	}
	var files []file
	seenPath := map[string]bool{}
	taken := map[string]string{} // lower-case id -> the file that has it
	for _, p := range paths {
		ext := strings.ToLower(filepath.Ext(p))
		if ext != ".csv" && ext != ".jsonl" {
			return Import{}, fmt.Errorf("knowledge: %s: want a .csv or .jsonl file", p)
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			return Import{}, fmt.Errorf("knowledge: %w", err)
		}
		if seenPath[abs] {
			return Import{}, fmt.Errorf("knowledge: %s is given twice", p)
		}
		seenPath[abs] = true
		data, err := os.ReadFile(p)
		if err != nil {
			return Import{}, fmt.Errorf("knowledge: %w", err)
		}
		es, err := parseFile(p, data)
		if err != nil {
			return Import{}, err
		}
		f := file{path: p, entries: es, csv: ext == ".csv"}
		if !f.csv {
			for _, e := range es {
				key := strings.ToLower(e.ID)
				if prev, ok := taken[key]; ok {
					return Import{}, fmt.Errorf("knowledge: %s:%d: id %q is also in %s; ids name the files written, so they must be unique", p, e.Line, e.ID, prev)
				}
				taken[key] = fmt.Sprintf("%s:%d", p, e.Line)
			}
		}
		files = append(files, f)
	}
	var out Import
	for _, f := range files {
		if f.csv {
			base := idPrefixFor(f.path)
			prefix, by := base, ""
			free := func(prefix string) bool {
				for _, e := range f.entries {
					if prev, ok := taken[strings.ToLower(prefix+strings.TrimPrefix(e.ID, base))]; ok {
						if by == "" {
							by = prev
						}
						return false
					}
				}
				return true
			}
			if !free(prefix) {
				abs, _ := filepath.Abs(f.path)
				folder := idPrefixFor(filepath.Base(filepath.Dir(abs)) + "-" + base + ".csv")
				prefix = folder
				for n := 2; !free(prefix); n++ {
					prefix = fmt.Sprintf("%s-%d", base, n)
				}
				out.Notes = append(out.Notes, fmt.Sprintf("%s: ids %s-N are taken (%s), so its entries are %s-N", f.path, base, by, prefix))
			}
			for i := range f.entries {
				f.entries[i].ID = prefix + strings.TrimPrefix(f.entries[i].ID, base)
				taken[strings.ToLower(f.entries[i].ID)] = f.path
			}
		}
		out.Entries = append(out.Entries, f.entries...)
	}
	return out, nil
}
