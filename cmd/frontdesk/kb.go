package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/frontdesk/frontdesk/knowledge"
)

// runKB implements "frontdesk kb": lint, search, import and eval of the FAQ knowledge base.
func runKB(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	usage := func() {
		fmt.Fprintln(stderr, `usage: frontdesk kb <lint|search|import|eval> [flags] [args]
  kb lint [--skills a,b,c] DIR|FILE...          check entry files; exit 1 on findings
  kb search [--kb DIR] [--k 5] QUERY            search (default: the embedded starter set)
  kb import [--out DIR] [--skill S] FILE.csv|FILE.jsonl...
                                                convert CSV/JSONL to Markdown entry files in DIR
                                                (default: the current folder); --skill: the skill
                                                group of entries that have none
  kb eval --kb PATH --queries PATH [--k 10]     print retrieval figures as JSON`)
	}
	if len(args) == 0 {
		usage()
		return exitError{code: 2, msg: "missing kb subcommand"}
	}
	switch args[0] {
	case "lint":
		return kbLint(args[1:], stdout, stderr)
	case "search":
		return kbSearch(ctx, args[1:], stdout, stderr)
	case "import":
		return kbImport(args[1:], stdout, stderr)
	case "eval":
		return kbEval(ctx, args[1:], stdout, stderr)
	case "-h", "--help", "help":
		usage()
		return nil
	}
	usage()
	return exitError{code: 2, msg: fmt.Sprintf("unknown kb subcommand %q", args[0])}
}

func kbFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("kb "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseFlags parses flags wherever they stand (parseInterspersed) and
// returns the positional arguments; ok is false when the command should
// stop: after -h (err nil) or on misuse (exit code 2).
func parseFlags(fs *flag.FlagSet, args []string) (pos []string, ok bool, err error) {
	pos, err = parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, false, nil
		}
		return nil, false, exitError{code: 2, msg: err.Error()}
	}
	return pos, true, nil
}

func kbLint(args []string, stdout, stderr io.Writer) error {
	fs := kbFlags("lint", stderr)
	skills := fs.String("skills", strings.Join(knowledge.DefaultSkills, ","), "comma-separated known skill groups (empty: accept any)")
	paths, ok, err := parseFlags(fs, args)
	if !ok {
		return err
	}
	if len(paths) == 0 {
		return exitError{code: 2, msg: "usage: frontdesk kb lint [--skills a,b] DIR|FILE..."}
	}
	var known []string
	for _, s := range strings.Split(*skills, ",") {
		if s = strings.TrimSpace(s); s != "" {
			known = append(known, s)
		}
	}
	var entries []knowledge.Entry
	var problems []knowledge.Problem
	for _, p := range paths {
		es, ps, err := knowledge.Load(p)
		if err != nil {
			return err
		}
		entries = append(entries, es...)
		problems = append(problems, ps...)
	}
	problems = append(problems, knowledge.Lint(entries, known)...)
	for _, p := range problems {
		fmt.Fprintln(stdout, p.String())
	}
	if len(problems) > 0 {
		return exitError{code: 1, msg: fmt.Sprintf("%d problem(s) in %d entries", len(problems), len(entries))}
	}
	fmt.Fprintf(stdout, "%d entries, no problems\n", len(entries))
	return nil
}

func kbSearch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := kbFlags("search", stderr)
	dir := fs.String("kb", "", "knowledge directory or .jsonl/.csv file (default: embedded starter set)")
	k := fs.Int("k", 5, "number of hits")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	words, ok, err := parseFlags(fs, args)
	if !ok {
		return err
	}
	if len(words) == 0 {
		return exitError{code: 2, msg: "usage: frontdesk kb search [--kb DIR] [--k 5] QUERY"}
	}
	x, err := knowledge.Open(ctx, knowledge.Config{Dir: *dir})
	if err != nil {
		return err
	}
	defer x.Close()
	res, err := x.Search(ctx, strings.Join(words, " "), *k)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	fmt.Fprintf(stdout, "confidence %.3f  margin %.3f\n", res.Confidence, res.Margin)
	for i, h := range res.Hits {
		fmt.Fprintf(stdout, "%2d. %-24s %7.3f  %s  [%s]\n", i+1, h.ID, h.Score, h.Question, h.Skill)
		for _, hl := range h.Highlights {
			fmt.Fprintf(stdout, "      %s\n", strings.ReplaceAll(hl, "\n", " "))
		}
	}
	return nil
}

func kbImport(args []string, stdout, stderr io.Writer) error {
	fs := kbFlags("import", stderr)
	out := fs.String("out", ".", "directory to write the Markdown entry files into")
	skill := fs.String("skill", "", "skill group (where a handoff on the topic goes) for imported entries that have none (default: none)")
	files, ok, err := parseFlags(fs, args)
	if !ok {
		return err
	}
	if len(files) == 0 {
		return exitError{code: 2, msg: "usage: frontdesk kb import [--out DIR] [--skill S] FILE.csv|FILE.jsonl..."}
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	imp, err := knowledge.ReadImport(files)
	if err != nil {
		return err
	}
	for _, note := range imp.Notes {
		fmt.Fprintln(stdout, note)
	}
	replaced := 0
	for _, e := range imp.Entries {
		if e.Skill == "" {
			e.Skill = *skill
		}
		if _, err := os.Stat(filepath.Join(*out, e.ID+".md")); err == nil {
			replaced++
		}
		if _, err := knowledge.WriteEntryFile(*out, e); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "wrote %d entries to %s", len(imp.Entries), *out)
	if replaced > 0 {
		fmt.Fprintf(stdout, " (%d replaced files of the same name)", replaced)
	}
	fmt.Fprintln(stdout)
	return nil
}

func kbEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := kbFlags("eval", stderr)
	kb := fs.String("kb", "", "knowledge directory, or a .jsonl file in the import format")
	qpath := fs.String("queries", "", `queries, JSON lines {"qid","query","relevant":[ids]}`)
	k := fs.Int("k", 10, "hits per query (at least 10)")
	indexDir := fs.String("index-dir", "", "persist the index here (default: in memory)")
	synonyms := fs.String("synonyms", "", "synonyms file (default: synonyms.txt in the knowledge directory)")
	cjk := fs.String("cjk", "", "analysis choice: CJK terms: both, bigram or unigram (default both)")
	noStem := fs.Bool("no-stem", false, "analysis choice: no English stemming")
	noStop := fs.Bool("no-stop", false, "analysis choice: keep English stop words")
	qboost := fs.Float64("qboost", 0, "ranking choice: question boost over answers (default 3)")
	noAnswers := fs.Bool("no-answers", false, "ranking choice: index questions only")
	cosine := fs.Bool("cosine", false, "ranking choice: average BM25 with the cosine to the closest question")
	candidates := fs.Int("candidates", 0, "ranking choice: Bleve candidates rescored per query (default 30; 50 with --train-pairs)")
	trainPairs := fs.String("train-pairs", "", "learn a re-ranker from labelled question pairs (CSV sentence1,sentence2,label); the queries are split in two folds by relevant entry and each fold is evaluated with a re-ranker learned without any pair that contains one of its queries")
	rerank := fs.String("rerank", "listwise", "re-ranker learned with --train-pairs: listwise (hand features, translation model, pair classifier, dual encoder; softmax over the candidates) or logistic (hand features only)")
	noTM := fs.Bool("rerank-no-translation", false, "listwise re-ranker without the translation-model features")
	units := fs.Bool("rerank-units", false, "listwise re-ranker with learned per-unit weights (measured: no clear gain)")
	noPair := fs.Bool("rerank-no-pair-model", false, "listwise re-ranker without the pair classifier's log-odds")
	noEnc := fs.Bool("rerank-no-encoder", false, "listwise re-ranker without the learned bag-of-units dual encoder's cosine")
	expand := fs.Int("rerank-expand", 0, "listwise re-ranker: add up to N character bigrams from its translation model to the candidate search")
	rest, ok, err := parseFlags(fs, args)
	if !ok {
		return err
	}
	if len(rest) > 0 {
		return exitError{code: 2, msg: fmt.Sprintf("unexpected arguments %q (kb eval takes flags only)", rest)}
	}
	if *kb == "" || *qpath == "" {
		return exitError{code: 2, msg: "usage: frontdesk kb eval --kb PATH --queries PATH [--k 10]"}
	}
	cfg := knowledge.Config{
		Dir:      *kb,
		IndexDir: *indexDir,
		Analysis: knowledge.Analysis{CJK: *cjk, NoStem: *noStem, NoStopWords: *noStop},
		Ranking:  knowledge.Ranking{QuestionBoost: *qboost, NoAnswers: *noAnswers, Cosine: *cosine, Candidates: *candidates},
	}
	if *synonyms != "" {
		f, err := os.Open(*synonyms)
		if err != nil {
			return err
		}
		syn, err := knowledge.ParseSynonyms(f, *synonyms)
		f.Close()
		if err != nil {
			return err
		}
		cfg.Synonyms = syn
	}
	qf, err := os.Open(*qpath)
	if err != nil {
		return err
	}
	queries, err := knowledge.ReadQueries(qf, *qpath)
	qf.Close()
	if err != nil {
		return err
	}
	if err := checkQueries(queries, *qpath); err != nil {
		return err
	}
	x, err := knowledge.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer x.Close()
	var rep knowledge.Report
	if *trainPairs != "" {
		rep, err = evalCrossFitted(ctx, x, *trainPairs, queries, *k, knowledge.RerankConfig{
			Candidates: *candidates, Model: *rerank, NoTranslation: *noTM, Units: *units, NoPairModel: *noPair, Expand: *expand, NoEncoder: *noEnc,
		})
	} else {
		rep, err = knowledge.Evaluate(ctx, x, queries, *k)
	}
	if err != nil {
		return err
	}
	rep.IndexSeconds = x.BuildTime().Seconds()
	rep.Entries = x.Len()
	return json.NewEncoder(stdout).Encode(rep)
}

// checkQueries refuses a queries file that holds no queries (an empty file,
// a knowledge file passed as --queries), which would report n 0 or recall 0.
func checkQueries(queries []knowledge.Query, name string) error {
	const want = `want JSON lines {"qid","query","relevant":[ids]}`
	if len(queries) == 0 {
		return fmt.Errorf("%s: no queries; %s", name, want)
	}
	for i, q := range queries {
		if strings.TrimSpace(q.Query) == "" || len(q.Relevant) == 0 {
			return fmt.Errorf("%s: query %d (qid %q) has no \"query\" or no \"relevant\" ids; %s", name, i+1, q.QID, want)
		}
	}
	return nil
}

// evalCrossFitted evaluates queries in two folds (split by relevant entry, so
// paraphrases of one entry stay together); each fold is searched with a
// re-ranker learned from the pairs that contain none of its query texts.
func evalCrossFitted(ctx context.Context, x *knowledge.Index, pairsPath string, queries []knowledge.Query, k int, cfg knowledge.RerankConfig) (knowledge.Report, error) {
	pairs, err := readPairs(pairsPath)
	if err != nil {
		return knowledge.Report{}, err
	}
	var folds [2][]knowledge.Query
	for _, q := range queries {
		key := q.QID
		if len(q.Relevant) > 0 {
			key = q.Relevant[0]
		}
		h := fnv.New32a()
		h.Write([]byte(key))
		folds[h.Sum32()%2] = append(folds[h.Sum32()%2], q)
	}
	var out knowledge.Report
	for _, fold := range folds {
		held := map[string]bool{}
		for _, q := range fold {
			held[q.Query] = true
		}
		rr, err := knowledge.LearnReranker(ctx, x, pairs, func(s string) bool { return held[s] }, cfg)
		if err != nil {
			return out, err
		}
		x.SetReranker(rr)
		rep, err := knowledge.Evaluate(ctx, x, fold, k)
		if err != nil {
			return out, err
		}
		out = mergeReports(out, rep)
	}
	x.SetReranker(nil)
	return out, nil
}

// mergeReports pools two reports: means weighted by n, latency the worse of the two.
func mergeReports(a, b knowledge.Report) knowledge.Report {
	n := float64(a.N + b.N)
	if n == 0 {
		return a
	}
	wa, wb := float64(a.N)/n, float64(b.N)/n
	avg := func(x, y float64) float64 { return wa*x + wb*y }
	return knowledge.Report{
		N:              a.N + b.N,
		RecallAt1:      avg(a.RecallAt1, b.RecallAt1),
		RecallAt5:      avg(a.RecallAt5, b.RecallAt5),
		RecallAt10:     avg(a.RecallAt10, b.RecallAt10),
		MRRAt10:        avg(a.MRRAt10, b.MRRAt10),
		P50Ms:          max(a.P50Ms, b.P50Ms),
		P99Ms:          max(a.P99Ms, b.P99Ms),
		ECE:            avg(a.ECE, b.ECE),
		MeanConfidence: avg(a.MeanConfidence, b.MeanConfidence),
	}
}

// readPairs reads labelled question pairs from a CSV file with the columns
// sentence1, sentence2, label (1: same meaning) and an optional header row.
func readPairs(path string) ([]knowledge.Pair, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var out []knowledge.Pair
	for i, r := range rows {
		if len(r) < 3 {
			return nil, fmt.Errorf("%s:%d: want sentence1,sentence2,label", path, i+1)
		}
		if i == 0 && r[2] == "label" {
			continue
		}
		out = append(out, knowledge.Pair{A: r[0], B: r[1], Same: strings.TrimSpace(r[2]) == "1"})
	}
	return out, nil
}
