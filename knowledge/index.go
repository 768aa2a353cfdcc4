package knowledge

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/whitespace"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/mapping"
)

// starterFS holds the embedded starter FAQ set for the demo company Acme Shop.
//
//go:embed starter
var starterFS embed.FS

// DefaultSkills are the skill groups of the demo company, used by the starter set.
var DefaultSkills = []string{"order_support", "tech_support", "default_support"}

// Config configures an Index; the zero value serves the embedded starter set from memory.
type Config struct {
	// Dir is a knowledge directory, or a single .md, .csv or .jsonl file; "" means
	// the embedded starter set.
	Dir string
	// IndexDir is where the Bleve index and its manifest are persisted (under the
	// data directory); "" keeps the index in memory.
	IndexDir string
	// Skills are the known skill groups; entries with other skills are reported
	// by Problems. Empty accepts any skill.
	Skills []string
	// PollInterval is how often Run scans the directory for changed files.
	// Where the operating system reports file changes (inotify, kqueue...),
	// Run re-indexes as soon as files change and the scan is only a safety
	// net (0 means every 5s); otherwise, or with Poll, it is the polling
	// period (0 means 250ms).
	PollInterval time.Duration
	// Poll makes Run poll instead of asking the operating system for file
	// change notifications.
	Poll bool
	// Logger receives warnings about watching the directory; nil discards them.
	Logger *slog.Logger
	// Analysis selects the text analysis; the zero value is the recommended one.
	Analysis Analysis
	// Ranking selects the scoring; the zero value is the recommended one.
	Ranking Ranking
	// Synonyms, when non-nil, replaces the directory's synonyms.txt.
	Synonyms *Synonyms
	// OnReload, when non-nil, is called after Run applied changed files, with the
	// changed file names and all current problems.
	OnReload func(changed []string, problems []Problem)
}

// source is where entry files come from.
type source struct {
	fsys     fs.FS
	root     string // prefix for display names
	only     string // if set, the single file that is read
	watch    bool
	embedded bool
}

func (s source) display(name string) string {
	if s.root == "" {
		return name
	}
	if s.embedded {
		return path.Join(s.root, name)
	}
	return filepath.Join(s.root, filepath.FromSlash(name))
}

// fileStat is what Run compares to notice a changed file.
type fileStat struct {
	size int64
	mod  time.Time
}

// fileState is what the index knows about one source file.
type fileState struct {
	stat     fileStat
	sum      [32]byte
	ids      []string  // entries this file owns
	problems []Problem // parse errors and id conflicts of its latest version
}

// liveEntry is an indexed entry with what search needs about it.
type liveEntry struct {
	Entry
	file string     // relative source name
	q    fieldVec   // terms of all questions
	a    fieldVec   // terms of all answers
	qs   []fieldVec // terms of each question
}

// Index is a searchable, hot-reloadable FAQ knowledge base.
type Index struct {
	cfg      Config
	an       Analysis
	rank     Ranking
	src      source
	bi       bleve.Index
	manifest string // path of the manifest file, "" when in memory

	mu       sync.RWMutex
	entries  map[string]*liveEntry
	files    map[string]*fileState
	sums     map[string]string // id -> hash of the indexed text (the manifest)
	dict     termDict          // term numbering of the vectors below
	qstats   fieldStats        // question-field statistics
	astats   fieldStats        // answer-field statistics
	syn      *Synonyms
	rr       *Reranker
	synStat  fileStat
	synProb  []Problem
	lint     []Problem
	lintOK   bool
	closed   bool
	runMu    sync.Mutex // one sync at a time
	addMu    sync.Mutex // one Add at a time
	buildDur time.Duration
	indexed  int // documents sent to Bleve since Open (for tests)
}

// manifestFile is the persisted record of what the on-disk index contains.
type manifestFile struct {
	Version string            `json:"version"`
	Entries map[string]string `json:"entries"`
}

const (
	fieldQ        = "q"
	fieldA        = "a"
	termsAnalyzer = "terms"
	bleveSubdir   = "bleve"
	manifestName  = "manifest.json"
)

// Open loads the knowledge base and indexes it, reusing a persisted index when
// the indexed content is unchanged.
func Open(ctx context.Context, cfg Config) (*Index, error) {
	if err := cfg.Analysis.validate(); err != nil {
		return nil, err
	}
	x := &Index{
		cfg:     cfg,
		an:      cfg.Analysis,
		rank:    cfg.Ranking.withDefaults(),
		entries: map[string]*liveEntry{},
		files:   map[string]*fileState{},
		sums:    map[string]string{},
		dict:    newTermDict(),
		qstats:  newFieldStats(),
		astats:  newFieldStats(),
	}
	switch {
	case cfg.Dir == "":
		sub, err := fs.Sub(starterFS, "starter")
		if err != nil {
			return nil, fmt.Errorf("knowledge: starter set: %w", err)
		}
		x.src = source{fsys: sub, root: "starter", embedded: true}
	default:
		st, err := os.Stat(cfg.Dir)
		if err != nil {
			return nil, fmt.Errorf("knowledge: %w", err)
		}
		if st.IsDir() {
			x.src = source{fsys: os.DirFS(cfg.Dir), root: cfg.Dir, watch: true}
		} else {
			x.src = source{fsys: os.DirFS(filepath.Dir(cfg.Dir)), root: filepath.Dir(cfg.Dir), only: filepath.Base(cfg.Dir), watch: true}
		}
	}
	if cfg.Synonyms != nil {
		x.syn = cfg.Synonyms
	}
	start := time.Now()
	if err := x.openBleve(); err != nil {
		return nil, err
	}
	if _, err := x.sync(ctx, true); err != nil {
		x.bi.Close()
		return nil, err
	}
	x.buildDur = time.Since(start)
	return x, nil
}

// newMapping is the Bleve mapping: two pre-analysed text fields scored with BM25.
func newMapping() (mapping.IndexMapping, error) {
	m := bleve.NewIndexMapping()
	if err := m.AddCustomAnalyzer(termsAnalyzer, map[string]interface{}{
		"type":      custom.Name,
		"tokenizer": whitespace.Name,
	}); err != nil {
		return nil, err
	}
	m.DefaultAnalyzer = termsAnalyzer
	m.ScoringModel = "bm25"
	m.StoreDynamic = false
	m.IndexDynamic = false
	m.DocValuesDynamic = false
	dm := bleve.NewDocumentStaticMapping()
	for _, f := range []string{fieldQ, fieldA} {
		fm := bleve.NewTextFieldMapping()
		fm.Analyzer = termsAnalyzer
		fm.Store = false
		fm.IncludeInAll = false
		fm.IncludeTermVectors = false
		fm.DocValues = false
		dm.AddFieldMappingsAt(f, fm)
	}
	m.DefaultMapping = dm
	return m, nil
}

// openBleve opens the persisted index when its manifest matches the analysis,
// otherwise creates a new one.
func (x *Index) openBleve() error {
	m, err := newMapping()
	if err != nil {
		return fmt.Errorf("knowledge: mapping: %w", err)
	}
	if x.cfg.IndexDir == "" {
		x.bi, err = bleve.NewUsing("", m, scorch.Name, scorch.Name, nil)
		if err != nil {
			return fmt.Errorf("knowledge: create index: %w", err)
		}
		return nil
	}
	x.manifest = filepath.Join(x.cfg.IndexDir, manifestName)
	bdir := filepath.Join(x.cfg.IndexDir, bleveSubdir)
	if data, err := os.ReadFile(x.manifest); err == nil {
		var mf manifestFile
		if json.Unmarshal(data, &mf) == nil && mf.Version == x.version() {
			if bi, err := bleve.Open(bdir); err == nil {
				x.bi = bi
				x.sums = mf.Entries
				if x.sums == nil {
					x.sums = map[string]string{}
				}
				return nil
			}
		}
	}
	// Stale, missing or unreadable: rebuild from scratch.
	if err := os.RemoveAll(bdir); err != nil {
		return fmt.Errorf("knowledge: remove stale index: %w", err)
	}
	if err := os.Remove(x.manifest); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("knowledge: remove stale manifest: %w", err)
	}
	if err := os.MkdirAll(x.cfg.IndexDir, 0o755); err != nil {
		return fmt.Errorf("knowledge: %w", err)
	}
	x.bi, err = bleve.NewUsing(bdir, m, scorch.Name, scorch.Name, nil)
	if err != nil {
		return fmt.Errorf("knowledge: create index: %w", err)
	}
	return nil
}

// version identifies the indexed representation for the manifest.
func (x *Index) version() string { return "knowledge/v1 " + x.an.version() }

// BuildTime is how long Open took to load and index the knowledge base.
func (x *Index) BuildTime() time.Duration { return x.buildDur }

// Len returns the number of live entries.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.entries)
}

// Get returns the live entry with the given id.
func (x *Index) Get(id string) (Entry, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	e, ok := x.entries[id]
	if !ok {
		return Entry{}, false
	}
	return e.Entry, true
}

// Entries returns all live entries sorted by id.
func (x *Index) Entries() []Entry {
	x.mu.RLock()
	defer x.mu.RUnlock()
	out := make([]Entry, 0, len(x.entries))
	for _, e := range x.entries {
		out = append(out, e.Entry)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Problems returns the current problems: files that do not parse (their last
// good version stays live), id conflicts, and lint findings on live entries.
func (x *Index) Problems() []Problem {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.problemsLocked()
}

func (x *Index) problemsLocked() []Problem {
	var ps []Problem
	for _, f := range x.files {
		ps = append(ps, f.problems...)
	}
	ps = append(ps, x.synProb...)
	if !x.lintOK {
		all := make([]Entry, 0, len(x.entries))
		for _, e := range x.entries {
			all = append(all, e.Entry)
		}
		sort.Slice(all, func(i, j int) bool {
			return all[i].File < all[j].File || all[i].File == all[j].File && all[i].Line < all[j].Line
		})
		x.lint = Lint(all, x.cfg.Skills)
		x.lintOK = true
	}
	ps = append(ps, x.lint...)
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].File != ps[j].File {
			return ps[i].File < ps[j].File
		}
		return ps[i].Line < ps[j].Line
	})
	return ps
}

// Close releases the index; a persisted index stays on disk for the next Open.
func (x *Index) Close() error {
	x.runMu.Lock()
	defer x.runMu.Unlock()
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		return nil
	}
	x.closed = true
	if err := x.bi.Close(); err != nil {
		return fmt.Errorf("knowledge: close index: %w", err)
	}
	return nil
}

// Run watches the knowledge directory and re-indexes changed files until ctx
// ends; broken files are reported through Problems and Config.OnReload while
// their last good version stays live. It returns nil when ctx ends.
func (x *Index) Run(ctx context.Context) error {
	if !x.src.watch {
		<-ctx.Done()
		return nil
	}
	if !x.cfg.Poll {
		if watching, err := x.watch(ctx); watching {
			return err
		}
	}
	every := x.cfg.PollInterval
	if every <= 0 {
		every = 250 * time.Millisecond
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if err := x.reloadNotify(ctx); err != nil {
			return err
		}
	}
}

// Reload checks the source for changed files once and applies them, returning
// the names of the changed files; Run calls it periodically.
func (x *Index) Reload(ctx context.Context) ([]string, error) {
	return x.sync(ctx, false)
}

// parsed is one changed file after reading.
type parsed struct {
	name    string
	stat    fileStat
	sum     [32]byte
	removed bool
	entries []Entry
	err     error
}

// scan lists the entry files of the source with their stats.
func (x *Index) scan() (map[string]fileStat, error) {
	out := map[string]fileStat{}
	add := func(p string) error {
		fi, err := fs.Stat(x.src.fsys, p)
		if err != nil {
			return err
		}
		out[p] = fileStat{size: fi.Size(), mod: fi.ModTime()}
		return nil
	}
	if x.src.only != "" {
		if err := add(x.src.only); err != nil {
			return nil, fmt.Errorf("knowledge: %w", err)
		}
		return out, nil
	}
	err := fs.WalkDir(x.src.fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == "." {
				return err
			}
			return nil // a file vanished while walking: the next scan sees it
		}
		if d.IsDir() {
			if p != "." && strings.HasPrefix(d.Name(), ".") {
				return fs.SkipDir
			}
			return nil
		}
		if isEntryFile(p) {
			if err := add(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("knowledge: scan %s: %w", x.src.root, err)
	}
	return out, nil
}

// sync reads changed files and applies them to the index.
func (x *Index) sync(ctx context.Context, initial bool) ([]string, error) {
	x.runMu.Lock()
	defer x.runMu.Unlock()
	if x.isClosed() {
		return nil, errors.New("knowledge: index is closed")
	}
	stats, err := x.scan()
	if err != nil {
		return nil, err
	}
	synChanged := x.syncSynonyms()
	var changes []parsed
	x.mu.RLock()
	for name, st := range stats {
		if f, ok := x.files[name]; ok && f.stat == st {
			continue
		}
		changes = append(changes, parsed{name: name, stat: st})
	}
	for name := range x.files {
		if _, ok := stats[name]; !ok {
			changes = append(changes, parsed{name: name, removed: true})
		}
	}
	x.mu.RUnlock()
	sort.Slice(changes, func(i, j int) bool { return changes[i].name < changes[j].name })
	var names []string
	for i := range changes {
		c := &changes[i]
		if c.removed {
			names = append(names, x.src.display(c.name))
			continue
		}
		data, err := fs.ReadFile(x.src.fsys, c.name)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				c.removed = true
				names = append(names, x.src.display(c.name))
				continue
			}
			return nil, fmt.Errorf("knowledge: read %s: %w", x.src.display(c.name), err)
		}
		c.sum = sha256.Sum256(data)
		x.mu.RLock()
		f, known := x.files[c.name]
		same := known && f.sum == c.sum && len(f.problems) == 0
		x.mu.RUnlock()
		if same {
			// Touched but unchanged: remember the new stat only.
			x.mu.Lock()
			f.stat = c.stat
			x.mu.Unlock()
			c.name = ""
			continue
		}
		c.entries, c.err = parseFile(x.src.display(c.name), data)
		names = append(names, x.src.display(c.name))
	}
	if err := x.apply(ctx, changes, initial); err != nil {
		return nil, err
	}
	if synChanged && !initial {
		names = append(names, x.src.display(SynonymsFile))
	}
	return names, nil
}

func (x *Index) isClosed() bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.closed
}

// syncSynonyms reloads the synonyms file when it changed; it reports a change.
func (x *Index) syncSynonyms() bool {
	if x.cfg.Synonyms != nil || x.src.only != "" {
		return false
	}
	fi, err := fs.Stat(x.src.fsys, SynonymsFile)
	if err != nil {
		x.mu.Lock()
		defer x.mu.Unlock()
		changed := x.syn != nil || len(x.synProb) > 0
		x.syn, x.synProb, x.synStat = nil, nil, fileStat{}
		return changed
	}
	st := fileStat{size: fi.Size(), mod: fi.ModTime()}
	x.mu.RLock()
	same := st == x.synStat
	x.mu.RUnlock()
	if same {
		return false
	}
	data, err := fs.ReadFile(x.src.fsys, SynonymsFile)
	var syn *Synonyms
	if err == nil {
		syn, err = ParseSynonyms(bytes.NewReader(data), x.src.display(SynonymsFile))
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.synStat = st
	if err != nil {
		x.synProb = []Problem{problemOf(x.src.display(SynonymsFile), err)}
		return true
	}
	x.syn, x.synProb = syn, nil
	return true
}

// apply updates entries and the Bleve index for changed files.
func (x *Index) apply(ctx context.Context, changes []parsed, initial bool) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	batch := x.bi.NewBatch()
	pending := 0
	flush := func() error {
		if pending == 0 {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("knowledge: index: %w", err)
		}
		if err := x.bi.Batch(batch); err != nil {
			return fmt.Errorf("knowledge: index: %w", err)
		}
		batch.Reset()
		pending = 0
		return nil
	}
	remove := func(id string) {
		if old, ok := x.entries[id]; ok {
			x.count(old, -1)
			delete(x.entries, id)
		}
		delete(x.sums, id)
		batch.Delete(id)
		pending++
	}
	dirty := false
	for _, c := range changes {
		if c.name == "" {
			continue
		}
		dirty = true
		f := x.files[c.name]
		if c.removed {
			if f != nil {
				for _, id := range f.ids {
					if e, ok := x.entries[id]; ok && e.file == c.name {
						remove(id)
					}
				}
				delete(x.files, c.name)
				x.retryConflicts()
			}
			continue
		}
		if f == nil {
			f = &fileState{}
			x.files[c.name] = f
		}
		f.stat = c.stat
		if c.err != nil {
			f.problems = []Problem{problemOf(x.src.display(c.name), c.err)}
			continue // the last good version stays live
		}
		f.sum = c.sum
		f.problems = nil
		keep := map[string]bool{}
		var ids []string
		for _, e := range c.entries {
			if keep[e.ID] {
				f.problems = append(f.problems, Problem{File: e.File, Line: e.Line, Reason: fmt.Sprintf("duplicate id %q in the same file; this one is ignored", e.ID)})
				continue
			}
			if old, ok := x.entries[e.ID]; ok && old.file != c.name {
				f.problems = append(f.problems, Problem{File: e.File, Line: e.Line, Reason: fmt.Sprintf("duplicate id %q (already in %s:%d); this one is ignored", e.ID, old.File, old.Line)})
				f.sum = [32]byte{} // look again once the other file changes
				continue
			}
			keep[e.ID] = true
			ids = append(ids, e.ID)
			le := x.newLiveEntry(e, c.name)
			doc, sum := x.bleveDoc(le)
			if old, ok := x.entries[e.ID]; ok {
				x.count(old, -1)
			}
			x.entries[e.ID] = le
			x.count(le, 1)
			if x.sums[e.ID] != sum {
				if err := batch.Index(e.ID, doc); err != nil {
					return fmt.Errorf("knowledge: index %s: %w", e.ID, err)
				}
				x.sums[e.ID] = sum
				x.indexed++
				pending++
			}
			if pending >= 1000 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		for _, id := range f.ids {
			if !keep[id] {
				if e, ok := x.entries[id]; ok && e.file == c.name {
					remove(id)
				}
			}
		}
		f.ids = ids
	}
	if initial {
		// Entries the persisted index has but the files no longer do.
		for id := range x.sums {
			if _, ok := x.entries[id]; !ok {
				delete(x.sums, id)
				batch.Delete(id)
				pending++
			}
		}
	}
	if dirty {
		x.lintOK = false
	}
	if pending == 0 && !(initial && x.manifest != "") {
		return nil
	}
	if err := flush(); err != nil {
		return err
	}
	return x.writeManifest()
}

// retryConflicts makes files with id conflicts be read again on the next sync.
func (x *Index) retryConflicts() {
	for _, f := range x.files {
		if len(f.problems) > 0 {
			f.stat = fileStat{}
			f.sum = [32]byte{}
		}
	}
}

// writeManifest records what the persisted index contains.
func (x *Index) writeManifest() error {
	if x.manifest == "" {
		return nil
	}
	data, err := json.Marshal(manifestFile{Version: x.version(), Entries: x.sums})
	if err != nil {
		return fmt.Errorf("knowledge: manifest: %w", err)
	}
	return writeFileAtomic(x.manifest, data)
}

// writeFileAtomic writes data to a temporary file and renames it over name.
func writeFileAtomic(name string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".tmp*")
	if err != nil {
		return fmt.Errorf("knowledge: %w", err)
	}
	_, werr := tmp.Write(data)
	if werr == nil {
		werr = tmp.Sync()
	}
	cerr := tmp.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), name)
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("knowledge: write %s: %w", name, werr)
	}
	return nil
}

// WriteEntryFile writes an entry as Markdown into dir atomically (a temporary
// file renamed over <id>.md), so a watching Index never sees half a file.
func WriteEntryFile(dir string, e Entry) (string, error) {
	data, err := MarshalEntry(e)
	if err != nil {
		return "", err
	}
	name := filepath.Join(dir, e.ID+".md")
	return name, writeFileAtomic(name, data)
}

// newLiveEntry analyses an entry's questions and answers; it needs x.mu held.
func (x *Index) newLiveEntry(e Entry, file string) *liveEntry {
	le := &liveEntry{
		Entry: e,
		file:  file,
		q:     newFieldVec(&x.dict, x.an.terms(strings.Join(e.Questions, "\n"))),
		a:     newFieldVec(&x.dict, x.an.terms(strings.Join(e.AllAnswers(), "\n"))),
	}
	if len(e.Questions) == 1 {
		le.qs = []fieldVec{le.q}
	} else {
		for _, q := range e.Questions {
			le.qs = append(le.qs, newFieldVec(&x.dict, x.an.terms(q)))
		}
	}
	return le
}

// count adds (d=1) or removes (d=-1) an entry from the field statistics.
func (x *Index) count(e *liveEntry, d int32) {
	x.qstats.add(e.q, d)
	x.astats.add(e.a, d)
}

// bleveDoc is the indexed form of an entry: its terms joined by spaces, and a
// hash of that text for the manifest.
func (x *Index) bleveDoc(e *liveEntry) (map[string]interface{}, string) {
	join := func(v fieldVec) string {
		// Sorted by term, so the text (and its hash) does not depend on the
		// order in which terms were numbered.
		ts := slices.Clone(v.terms)
		slices.SortFunc(ts, func(a, b termFreq) int { return strings.Compare(x.dict.names[a.id], x.dict.names[b.id]) })
		var b strings.Builder
		for _, t := range ts {
			for range t.tf {
				b.WriteString(x.dict.names[t.id])
				b.WriteByte(' ')
			}
		}
		return b.String()
	}
	q, a := join(e.q), join(e.a)
	h := sha256.Sum256([]byte(q + "\x00" + a))
	return map[string]interface{}{fieldQ: q, fieldA: a}, hex.EncodeToString(h[:12])
}
