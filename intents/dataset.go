package intents

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// OutOfScope is the label of out-of-scope examples and predictions.
const OutOfScope = "oos"

// IsOutOfScopeLabel reports whether a label marks an out-of-scope example ("oos" or "out_of_scope", any case).
func IsOutOfScopeLabel(label string) bool {
	l := strings.ToLower(strings.TrimSpace(label))
	return l == OutOfScope || l == "out_of_scope" || l == "out-of-scope"
}

// Intent is one intent of a training set: its name, the skill group it routes to, an optional threshold and its examples.
type Intent struct {
	Name      string   `yaml:"intent" json:"intent"`
	Skill     string   `yaml:"skill,omitempty" json:"skill,omitempty"`
	Threshold float64  `yaml:"threshold,omitempty" json:"threshold,omitempty"`
	Examples  []string `yaml:"examples" json:"examples"`
}

// Dataset is a training or evaluation set: in-scope intents and out-of-scope examples.
type Dataset struct {
	Intents    []Intent `yaml:"intents" json:"intents"`
	OutOfScope []string `yaml:"out_of_scope,omitempty" json:"out_of_scope,omitempty"`
}

// Example is one labelled utterance; Intent is OutOfScope for an out-of-scope example.
type Example struct {
	Text   string
	Intent string
}

// Examples returns every example of the data set, in-scope intents first in file order, then the out-of-scope ones.
func (d Dataset) Examples() []Example {
	var out []Example
	for _, in := range d.Intents {
		for _, e := range in.Examples {
			out = append(out, Example{Text: e, Intent: in.Name})
		}
	}
	for _, e := range d.OutOfScope {
		out = append(out, Example{Text: e, Intent: OutOfScope})
	}
	return out
}

// Len returns the number of examples.
func (d Dataset) Len() int {
	n := len(d.OutOfScope)
	for _, in := range d.Intents {
		n += len(in.Examples)
	}
	return n
}

// FromExamples builds a data set from labelled examples, keeping the order in which labels first appear.
func FromExamples(examples []Example) Dataset {
	var d Dataset
	pos := map[string]int{}
	for _, e := range examples {
		text := strings.TrimSpace(e.Text)
		if text == "" {
			continue
		}
		if IsOutOfScopeLabel(e.Intent) {
			d.OutOfScope = append(d.OutOfScope, text)
			continue
		}
		i, ok := pos[e.Intent]
		if !ok {
			i = len(d.Intents)
			pos[e.Intent] = i
			d.Intents = append(d.Intents, Intent{Name: e.Intent})
		}
		d.Intents[i].Examples = append(d.Intents[i].Examples, text)
	}
	return d
}

// Merge returns the union of data sets; intents with the same name are joined and the first non-empty skill and threshold win.
func Merge(sets ...Dataset) Dataset {
	var out Dataset
	pos := map[string]int{}
	for _, d := range sets {
		for _, in := range d.Intents {
			if IsOutOfScopeLabel(in.Name) {
				out.OutOfScope = append(out.OutOfScope, in.Examples...)
				continue
			}
			i, ok := pos[in.Name]
			if !ok {
				pos[in.Name] = len(out.Intents)
				out.Intents = append(out.Intents, Intent{Name: in.Name, Skill: in.Skill, Threshold: in.Threshold,
					Examples: slices.Clone(in.Examples)})
				continue
			}
			o := &out.Intents[i]
			o.Examples = append(o.Examples, in.Examples...)
			if o.Skill == "" {
				o.Skill = in.Skill
			}
			if o.Threshold == 0 {
				o.Threshold = in.Threshold
			}
		}
		out.OutOfScope = append(out.OutOfScope, d.OutOfScope...)
	}
	return out
}

// Validate checks that the data set can be trained on.
func (d Dataset) Validate() error {
	seen := map[string]bool{}
	n := 0
	for _, in := range d.Intents {
		if strings.TrimSpace(in.Name) == "" {
			return errors.New("intents: intent without a name")
		}
		if seen[in.Name] {
			return fmt.Errorf("intents: intent %q listed twice", in.Name)
		}
		seen[in.Name] = true
		if in.Threshold < 0 || in.Threshold >= 1 {
			return fmt.Errorf("intents: intent %q: threshold %v not in [0, 1)", in.Name, in.Threshold)
		}
		if len(in.Examples) > 0 {
			n++
		}
	}
	if n < 2 && !(n == 1 && len(d.OutOfScope) > 0) {
		return errors.New("intents: need examples for at least two intents (or one intent and out-of-scope examples)")
	}
	return nil
}

// ParseYAML reads the Frontdesk YAML training format, or a Rasa nlu.yml file when it has a top-level "nlu" key.
func ParseYAML(r io.Reader) (Dataset, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return Dataset{}, fmt.Errorf("intents: read yaml: %w", err)
	}
	var probe map[string]yaml.Node
	if err := yaml.Unmarshal(data, &probe); err != nil {
		return Dataset{}, fmt.Errorf("intents: parse yaml: %w", err)
	}
	if _, ok := probe["nlu"]; ok {
		return parseRasa(data)
	}
	var d Dataset
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&d); err != nil && !errors.Is(err, io.EOF) {
		return Dataset{}, fmt.Errorf("intents: parse yaml: %w", err)
	}
	return Merge(d), nil // folds an intent named oos into OutOfScope and joins repeated names
}

// parseRasa reads Rasa's NLU training data (version 2 or 3), dropping entity annotations.
func parseRasa(data []byte) (Dataset, error) {
	var doc struct {
		NLU []struct {
			Intent   string `yaml:"intent"`
			Examples string `yaml:"examples"`
		} `yaml:"nlu"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return Dataset{}, fmt.Errorf("intents: parse rasa nlu: %w", err)
	}
	var ex []Example
	for _, item := range doc.NLU {
		if item.Intent == "" {
			continue // synonym, regex and lookup entries
		}
		for _, line := range strings.Split(item.Examples, "\n") {
			line = strings.TrimSpace(line)
			if !strings.HasPrefix(line, "- ") && line != "-" {
				continue
			}
			text := stripRasaEntities(strings.TrimSpace(strings.TrimPrefix(line, "-")))
			ex = append(ex, Example{Text: text, Intent: item.Intent})
		}
	}
	return FromExamples(ex), nil
}

// stripRasaEntities turns "[Berlin](city)" and `[Berlin]{"entity": "city"}` into "Berlin".
func stripRasaEntities(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '[' {
			end := strings.IndexByte(s[i:], ']')
			if end > 0 && i+end+1 < len(s) && (s[i+end+1] == '(' || s[i+end+1] == '{') {
				closer := byte(')')
				if s[i+end+1] == '{' {
					closer = '}'
				}
				if c := strings.IndexByte(s[i+end+1:], closer); c > 0 {
					b.WriteString(s[i+1 : i+end])
					i += end + 1 + c
					continue
				}
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// ParseJSONL reads one JSON object per line with "text" and "intent" (or "label").
func ParseJSONL(r io.Reader) (Dataset, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	var ex []Example
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var rec struct {
			Text   string `json:"text"`
			Intent string `json:"intent"`
			Label  string `json:"label"`
		}
		if err := json.Unmarshal(b, &rec); err != nil {
			return Dataset{}, fmt.Errorf("intents: jsonl line %d: %w", line, err)
		}
		label := rec.Intent
		if label == "" {
			label = rec.Label
		}
		if label == "" {
			return Dataset{}, fmt.Errorf("intents: jsonl line %d: no intent or label", line)
		}
		ex = append(ex, Example{Text: rec.Text, Intent: label})
	}
	if err := sc.Err(); err != nil {
		return Dataset{}, fmt.Errorf("intents: read jsonl: %w", err)
	}
	return FromExamples(ex), nil
}

// ParseCSV reads a CSV file with a header naming a "text" column and a "category" (or "intent" or "label") column.
func ParseCSV(r io.Reader) (Dataset, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return Dataset{}, fmt.Errorf("intents: read csv header: %w", err)
	}
	ti, li := -1, -1
	for i, h := range header {
		switch strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))) {
		case "text":
			ti = i
		case "category", "intent", "label":
			li = i
		}
	}
	if ti < 0 || li < 0 {
		return Dataset{}, fmt.Errorf("intents: csv header %q: need a text column and a category, intent or label column", header)
	}
	var ex []Example
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Dataset{}, fmt.Errorf("intents: read csv: %w", err)
		}
		if ti >= len(rec) || li >= len(rec) {
			continue
		}
		ex = append(ex, Example{Text: rec[ti], Intent: rec[li]})
	}
	return FromExamples(ex), nil
}

// CLINC150 holds the splits of a file in the CLINC150 JSON layout; a split absent from the file is empty.
type CLINC150 struct {
	Train, Val, Test Dataset
}

// ParseCLINC150 reads the CLINC150 JSON layout: "train", "val", "test" and "oos_*" lists of [text, intent] pairs.
func ParseCLINC150(r io.Reader) (CLINC150, error) {
	var raw map[string][][2]string
	if err := json.NewDecoder(r).Decode(&raw); err != nil {
		return CLINC150{}, fmt.Errorf("intents: parse clinc150 json: %w", err)
	}
	split := func(name string) Dataset {
		var ex []Example
		for _, p := range raw[name] {
			ex = append(ex, Example{Text: p[0], Intent: p[1]})
		}
		for _, p := range raw["oos_"+name] {
			ex = append(ex, Example{Text: p[0], Intent: OutOfScope})
		}
		return FromExamples(ex)
	}
	c := CLINC150{Train: split("train"), Val: split("val"), Test: split("test")}
	if c.Train.Len()+c.Val.Len()+c.Test.Len() == 0 {
		return CLINC150{}, errors.New("intents: clinc150 json: no train, val or test lists")
	}
	return c, nil
}

// ReadFile reads a data set, choosing the format by extension: .yaml/.yml (Frontdesk or Rasa), .jsonl, .csv, or .json
// (CLINC150, whose train split is returned); a directory is read as the union of the YAML files in it.
func ReadFile(ctx context.Context, path string) (Dataset, error) {
	if err := ctx.Err(); err != nil {
		return Dataset{}, fmt.Errorf("intents: read %s: %w", path, err)
	}
	st, err := os.Stat(path)
	if err != nil {
		return Dataset{}, fmt.Errorf("intents: %w", err)
	}
	if st.IsDir() {
		return readDir(ctx, path)
	}
	f, err := os.Open(path)
	if err != nil {
		return Dataset{}, fmt.Errorf("intents: %w", err)
	}
	defer f.Close()
	d, err := Parse(f, filepath.Ext(path))
	if err != nil {
		return Dataset{}, fmt.Errorf("%w (in %s)", err, path)
	}
	return d, nil
}

// Parse reads a data set in the format named by a file extension (".yaml", ".yml", ".jsonl", ".csv" or ".json").
func Parse(r io.Reader, ext string) (Dataset, error) {
	switch strings.ToLower(ext) {
	case ".yaml", ".yml":
		return ParseYAML(r)
	case ".jsonl", ".ndjson":
		return ParseJSONL(r)
	case ".csv":
		return ParseCSV(r)
	case ".json":
		c, err := ParseCLINC150(r)
		return c.Train, err
	}
	return Dataset{}, fmt.Errorf("intents: unknown data format %q (want .yaml, .yml, .jsonl, .csv or .json)", ext)
}

func readDir(ctx context.Context, dir string) (Dataset, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return Dataset{}, fmt.Errorf("intents: %w", err)
	}
	var sets []Dataset
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if e.IsDir() || (ext != ".yaml" && ext != ".yml") {
			continue
		}
		d, err := ReadFile(ctx, filepath.Join(dir, e.Name()))
		if err != nil {
			return Dataset{}, err
		}
		sets = append(sets, d)
	}
	if len(sets) == 0 {
		return Dataset{}, fmt.Errorf("intents: no .yaml files in %s", dir)
	}
	return Merge(sets...), nil
}
