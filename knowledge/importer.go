package knowledge

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
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
