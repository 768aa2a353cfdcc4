package main

import (
	"flag"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
)

// kbGen makes a bilingual knowledge base like knowledge's benchmarks do:
// words drawn from Zipf distributions over made-up English words and Han
// characters, so search costs what it costs on natural text.
type kbGen struct {
	r     *rand.Rand
	words []string
	han   []rune
	zw    *rand.Zipf
	zh    *rand.Zipf
}

// blocked words would turn a question into small talk or a handoff request.
var blockedWords = map[string]bool{"hey": true, "bye": true, "thx": true, "hello": true, "agent": true, "human": true, "thank": true}

func newKBGen(seed int64) *kbGen {
	r := rand.New(rand.NewSource(seed))
	g := &kbGen{r: r}
	for len(g.words) < 5000 {
		var b strings.Builder
		for range 3 + r.Intn(6) {
			b.WriteByte(byte('a' + r.Intn(26)))
		}
		if w := b.String(); !blockedWords[w] && !strings.HasPrefix(w, "thank") {
			g.words = append(g.words, w)
		}
	}
	for len(g.han) < 2500 {
		c := rune(0x4e00 + r.Intn(0x9fa5-0x4e00))
		if c != '人' && c != '谢' && c != '嗨' {
			g.han = append(g.han, c)
		}
	}
	g.zw = rand.NewZipf(r, 1.1, 1, uint64(len(g.words)-1))
	g.zh = rand.NewZipf(r, 1.1, 1, uint64(len(g.han)-1))
	return g
}

// phrase returns n tokens, each an English word or 2-4 Han characters.
func (g *kbGen) phrase(n int) []string {
	out := make([]string, 0, n)
	for range n {
		if g.r.Intn(2) == 0 {
			out = append(out, g.words[g.zw.Uint64()])
			continue
		}
		var b strings.Builder
		for range 2 + g.r.Intn(3) {
			b.WriteRune(g.han[g.zh.Uint64()])
		}
		out = append(out, b.String())
	}
	return out
}

// entryFile renders one FAQ entry in the format of docs/knowledge.md.
func entryFile(id string, questions []string, answer string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "---\nid: %s\nquestions:\n", id)
	for _, q := range questions {
		fmt.Fprintf(&b, "  - %s\n", q)
	}
	fmt.Fprintf(&b, "lang: both\n---\n%s\n", answer)
	return b.String()
}

// runKBGen writes n entry files into a new directory and a query file:
// questions of the entries (a tenth cut to four words), which the bot
// answers; unrelated text would measure handoffs, not answers.
func runKBGen(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("kbgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "directory to create (must not exist or be empty)")
	n := fs.Int("entries", 5000, "number of FAQ entries")
	queries := fs.String("queries", "", "write this many queries (--query-count) to this file")
	nq := fs.Int("query-count", 2000, "number of queries")
	seed := fs.Int64("seed", 1, "random seed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || *n < 1 || *n > 200000 || *nq < 1 || *nq > 1000000 {
		return fmt.Errorf("want --out DIR, --entries 1-200000 and --query-count 1-1000000")
	}
	if ents, err := os.ReadDir(*out); err == nil && len(ents) > 0 {
		return fmt.Errorf("%s is not empty", *out)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return fmt.Errorf("kbgen: %w", err)
	}
	g := newKBGen(*seed)
	questions := make([][]string, *n)
	for i := range *n {
		q := []string{strings.Join(g.phrase(6), " "), strings.Join(g.phrase(5), " "), strings.Join(g.phrase(7), " ")}
		questions[i] = q
		sub := filepath.Join(*out, fmt.Sprintf("%02d", i/500))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			return fmt.Errorf("kbgen: %w", err)
		}
		id := fmt.Sprintf("gen-%05d", i)
		if err := os.WriteFile(filepath.Join(sub, id+".md"), []byte(entryFile(id, q, strings.Join(g.phrase(40), " "))), 0o644); err != nil {
			return fmt.Errorf("kbgen: %w", err)
		}
	}
	if *queries == "" {
		return nil
	}
	var b strings.Builder
	for range *nq {
		q := strings.Fields(questions[g.r.Intn(*n)][g.r.Intn(3)])
		if g.r.Intn(10) == 0 { // a part of a question
			k := min(len(q), 4)
			from := g.r.Intn(len(q) - k + 1)
			q = q[from : from+k]
		}
		b.WriteString(strings.Join(q, " "))
		b.WriteByte('\n')
	}
	if err := os.WriteFile(*queries, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("kbgen: %w", err)
	}
	return nil
}
