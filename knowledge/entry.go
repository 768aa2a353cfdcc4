package knowledge

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Entry is one FAQ article: the questions it answers and the answer.
type Entry struct {
	// ID is the stable identifier, unique within a knowledge base.
	ID string `json:"id"`
	// Questions holds the main question first, then alternative phrasings.
	Questions []string `json:"questions"`
	// Answer is the (first) answer in Markdown.
	Answer string `json:"answer"`
	// Answers holds every answer when the entry has several (Answers[0] == Answer); nil otherwise.
	Answers []string `json:"answers,omitempty"`
	// Skill is the skill group to hand off to when this topic needs a human.
	Skill string `json:"skill,omitempty"`
	// Tags are free-form labels for editors.
	Tags []string `json:"tags,omitempty"`
	// Lang is "zh", "en" or "both".
	Lang string `json:"lang,omitempty"`
	// Links are related pages shown with the answer.
	Links []Link `json:"links,omitempty"`
	// File is the source file the entry was read from (for messages).
	File string `json:"file,omitempty"`
	// Line is the line of the entry (its id) in File, 1-based.
	Line int `json:"line,omitempty"`

	pos positions
}

// Link is a related page of an entry.
type Link struct {
	// Title is the text shown for the link (may be empty).
	Title string `yaml:"title,omitempty" json:"title,omitempty"`
	// URL is the link target.
	URL string `yaml:"url" json:"url"`
}

// UnmarshalYAML accepts either a plain URL string or a {title, url} mapping.
func (l *Link) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		l.URL = n.Value
		return nil
	}
	type plain Link
	var p plain
	if err := n.Decode(&p); err != nil {
		return err
	}
	*l = Link(p)
	return nil
}

// positions remembers source lines of an entry's parts for lint messages.
type positions struct {
	skill     int
	questions []int
	body      int
}

// AllAnswers returns every answer of the entry (Answers, or Answer alone).
func (e Entry) AllAnswers() []string {
	if len(e.Answers) > 0 {
		return e.Answers
	}
	if e.Answer == "" {
		return nil
	}
	return []string{e.Answer}
}

// questionLine returns the source line of question i, or the entry line.
func (e Entry) questionLine(i int) int {
	if i < len(e.pos.questions) && e.pos.questions[i] > 0 {
		return e.pos.questions[i]
	}
	return e.Line
}

// skillLine returns the source line of the skill field, or the entry line.
func (e Entry) skillLine() int {
	if e.pos.skill > 0 {
		return e.pos.skill
	}
	return e.Line
}

// bodyLine returns the source line where the answer starts, or the entry line.
func (e Entry) bodyLine() int {
	if e.pos.body > 0 {
		return e.pos.body
	}
	return e.Line
}

// Problem is a finding about a knowledge file: a parse error or a lint error.
type Problem struct {
	// File is the file the problem is in.
	File string `json:"file"`
	// Line is the 1-based line of the problem (0 when unknown).
	Line int `json:"line"`
	// Reason says what is wrong.
	Reason string `json:"reason"`
}

// String formats the problem as file:line: reason.
func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Reason)
	}
	return fmt.Sprintf("%s: %s", p.File, p.Reason)
}

// ParseError is the error returned for a malformed knowledge file.
type ParseError struct {
	// Problem locates and describes the error.
	Problem
}

// Error implements error.
func (e *ParseError) Error() string { return "knowledge: " + e.Problem.String() }

func parseErr(file string, line int, format string, args ...any) error {
	return &ParseError{Problem{File: file, Line: line, Reason: fmt.Sprintf(format, args...)}}
}

// frontMatter is the YAML header of a Markdown entry.
type frontMatter struct {
	ID        string   `yaml:"id"`
	Questions []string `yaml:"questions"`
	Skill     string   `yaml:"skill,omitempty"`
	Tags      []string `yaml:"tags,omitempty"`
	Lang      string   `yaml:"lang,omitempty"`
	Links     []Link   `yaml:"links,omitempty"`
}

// AnswerSeparator is the line that separates several answers in a Markdown entry's body.
const AnswerSeparator = "<!-- answer -->"

var yamlLineRE = regexp.MustCompile(`line (\d+)`)

// ParseEntry parses one Markdown file with YAML front matter; name is used in errors.
func ParseEntry(name string, data []byte) (Entry, error) {
	if !utf8.Valid(data) {
		return Entry{}, parseErr(name, 0, "file is not valid UTF-8")
	}
	text := strings.ReplaceAll(string(bytes.TrimPrefix(data, []byte("\ufeff"))), "\r\n", "\n")
	lines := strings.SplitAfter(text, "\n")
	if len(lines) == 0 || strings.TrimRight(lines[0], " \t\n") != "---" {
		return Entry{}, parseErr(name, 1, "missing front matter: the file must start with a line ---")
	}
	end := -1
	for i := 1; i < len(lines); i++ {
		if strings.TrimRight(lines[i], " \t\n") == "---" {
			end = i
			break
		}
	}
	if end < 0 {
		return Entry{}, parseErr(name, 1, "front matter is not closed by a line ---")
	}
	header := strings.Join(lines[1:end], "")
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(header), &root); err != nil {
		return Entry{}, yamlErr(name, err)
	}
	var fm frontMatter
	dec := yaml.NewDecoder(strings.NewReader(header))
	dec.KnownFields(true)
	if err := dec.Decode(&fm); err != nil {
		if errors.Is(err, io.EOF) {
			return Entry{}, parseErr(name, 2, "front matter is empty")
		}
		return Entry{}, yamlErr(name, err)
	}
	e := Entry{
		ID:    strings.TrimSpace(fm.ID),
		Skill: strings.TrimSpace(fm.Skill),
		Tags:  fm.Tags,
		Lang:  strings.TrimSpace(fm.Lang),
		Links: fm.Links,
		File:  name,
		Line:  1,
	}
	// Source lines from the node tree (yaml lines are 1-based within the header, which starts at file line 2).
	if len(root.Content) == 1 && root.Content[0].Kind == yaml.MappingNode {
		m := root.Content[0]
		for i := 0; i+1 < len(m.Content); i += 2 {
			k, v := m.Content[i], m.Content[i+1]
			switch k.Value {
			case "id":
				e.Line = k.Line + 1
			case "skill":
				e.pos.skill = k.Line + 1
			case "questions":
				for _, q := range v.Content {
					e.pos.questions = append(e.pos.questions, q.Line+1)
				}
			}
		}
	}
	for i, q := range fm.Questions {
		q = strings.TrimSpace(q)
		if q == "" {
			return Entry{}, parseErr(name, e.questionLine(i), "question %d is empty", i+1)
		}
		e.Questions = append(e.Questions, q)
	}
	e.pos.body = end + 2
	body := strings.Join(lines[end+1:], "")
	for _, part := range splitAnswers(body) {
		e.Answers = append(e.Answers, part)
	}
	if len(e.Answers) > 0 {
		e.Answer = e.Answers[0]
	}
	if len(e.Answers) <= 1 {
		e.Answers = nil
	}
	if err := e.validate(true); err != nil {
		return Entry{}, err
	}
	return e, nil
}

func yamlErr(name string, err error) error {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "yaml: ")
	line := 1
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		if n, convErr := strconv.Atoi(m[1]); convErr == nil {
			line = n + 1
		}
		msg = yamlLineRE.ReplaceAllString(msg, "")
		msg = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(msg), ":"))
		msg = strings.ReplaceAll(msg, "unmarshal errors:\n  ", "")
		msg = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(msg), ":"))
	}
	if m := unknownFieldRE.FindStringSubmatch(msg); m != nil {
		msg = fmt.Sprintf("unknown field %q (the fields are %s)", m[1], strings.Join(frontMatterFields, ", "))
		for _, f := range frontMatterFields {
			if strings.HasPrefix(f, m[1]) || strings.HasPrefix(m[1], f) {
				msg = fmt.Sprintf("unknown field %q: did you mean %q?", m[1], f)
			}
		}
	}
	return parseErr(name, line, "front matter: %s", strings.TrimSpace(msg))
}

// unknownFieldRE finds the field yaml's KnownFields check refused.
var unknownFieldRE = regexp.MustCompile(`field (\S+) not found in type`)

// frontMatterFields are the keys of an entry's front matter.
var frontMatterFields = []string{"id", "questions", "skill", "tags", "lang", "links"}

// splitAnswers splits a body at AnswerSeparator lines and drops empty parts.
func splitAnswers(body string) []string {
	var parts []string
	var cur strings.Builder
	flush := func() {
		if s := strings.TrimSpace(cur.String()); s != "" {
			parts = append(parts, s)
		}
		cur.Reset()
	}
	for _, l := range strings.SplitAfter(body, "\n") {
		if strings.TrimSpace(l) == AnswerSeparator {
			flush()
			continue
		}
		cur.WriteString(l)
	}
	flush()
	return parts
}

// validIDRE restricts ids to characters that are safe in file names and URLs.
var validIDRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// validate checks the fields every entry must have, whatever its source format.
func (e *Entry) validate(requireAnswer bool) error {
	switch {
	case e.ID == "":
		return parseErr(e.File, e.Line, "missing id")
	case !validIDRE.MatchString(e.ID):
		return parseErr(e.File, e.Line, "id %q: use letters, digits, '.', '_' and '-' only", e.ID)
	case len(e.Questions) == 0:
		return parseErr(e.File, e.Line, "entry %s has no questions", e.ID)
	case requireAnswer && strings.TrimSpace(e.Answer) == "":
		return parseErr(e.File, e.bodyLine(), "entry %s has an empty answer", e.ID)
	}
	switch e.Lang {
	case "", "zh", "en", "both":
	default:
		return parseErr(e.File, e.Line, "entry %s: lang %q is not zh, en or both", e.ID, e.Lang)
	}
	return nil
}

// MarshalEntry renders an entry in the Markdown file format read by ParseEntry.
func MarshalEntry(e Entry) ([]byte, error) {
	fm := frontMatter{ID: e.ID, Questions: e.Questions, Skill: e.Skill, Tags: e.Tags, Lang: e.Lang, Links: e.Links}
	var buf bytes.Buffer
	buf.WriteString("---\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(fm); err != nil {
		return nil, fmt.Errorf("knowledge: marshal %s: %w", e.ID, err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("knowledge: marshal %s: %w", e.ID, err)
	}
	buf.WriteString("---\n")
	answers := e.AllAnswers()
	for i, a := range answers {
		if i > 0 {
			buf.WriteString("\n" + AnswerSeparator + "\n\n")
		}
		buf.WriteString(strings.TrimSpace(a))
		buf.WriteString("\n")
	}
	return buf.Bytes(), nil
}
