package bot

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/intents"
	"github.com/frontdesk/frontdesk/knowledge"
)

// benchWorld generates a bilingual vocabulary drawn with a Zipf distribution,
// like natural text: made-up English words and Han characters.
type benchWorld struct {
	r      *rand.Rand
	words  []string
	han    []rune
	zw, zh *rand.Zipf
}

func newBenchWorld() *benchWorld {
	r := rand.New(rand.NewSource(1))
	w := &benchWorld{r: r, words: make([]string, 5000), han: make([]rune, 2500)}
	for i := range w.words {
		var b strings.Builder
		for range 3 + r.Intn(6) {
			b.WriteByte(byte('a' + r.Intn(26)))
		}
		w.words[i] = b.String()
	}
	for i := range w.han {
		w.han[i] = rune(0x4e00 + r.Intn(0x9fa5-0x4e00))
	}
	w.zw = rand.NewZipf(r, 1.1, 1, uint64(len(w.words)-1))
	w.zh = rand.NewZipf(r, 1.1, 1, uint64(len(w.han)-1))
	return w
}

func (w *benchWorld) phrase(n int) string {
	var b strings.Builder
	for i := range n {
		if w.r.Intn(2) == 0 {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(w.words[w.zw.Uint64()])
		} else {
			for range 2 + w.r.Intn(3) {
				b.WriteRune(w.han[w.zh.Uint64()])
			}
		}
	}
	return b.String()
}

// BenchmarkTurn measures Engine.Turn without an LLM on a generated 5k-entry
// knowledge base and a 150-intent model, over 1000 conversations (context
// store included), and reports the p50 and p99 latency of single turns.
func BenchmarkTurn(b *testing.B) {
	ctx := context.Background()
	w := newBenchWorld()
	skills := []string{"order_support", "tech_support", "default_support"}
	var kb strings.Builder
	var questions []string
	for i := range 5000 {
		q := w.phrase(5)
		questions = append(questions, q)
		fmt.Fprintf(&kb, `{"id":"g%05d","question":%q,"questions":[%q],"answer":%q,"skill":%q}`+"\n", i, q, w.phrase(6), w.phrase(40), skills[i%3])
	}
	p := filepath.Join(b.TempDir(), "kb.jsonl")
	if err := os.WriteFile(p, []byte(kb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	x, err := knowledge.Open(ctx, knowledge.Config{Dir: p})
	if err != nil {
		b.Fatal(err)
	}
	defer x.Close()
	var ds intents.Dataset
	for i := range 150 {
		in := intents.Intent{Name: fmt.Sprintf("intent_%03d", i), Skill: skills[i%3]}
		core := w.phrase(2)
		for range 12 {
			in.Examples = append(in.Examples, core+" "+w.phrase(2+w.r.Intn(3)))
		}
		ds.Intents = append(ds.Intents, in)
	}
	for range 100 {
		ds.OutOfScope = append(ds.OutOfScope, w.phrase(4))
	}
	start := time.Now()
	nlu, err := intents.Train(ctx, ds, intents.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("5000 entries, %d intents (trained in %v)", len(nlu.Intents()), time.Since(start).Round(time.Millisecond))
	e, err := New(x, DefaultConfig(), WithIntents(nlu))
	if err != nil {
		b.Fatal(err)
	}
	// Visitor messages: FAQ questions reworded (a word dropped), follow-ups and noise.
	msgs := make([]string, 2000)
	for i := range msgs {
		switch i % 10 {
		case 8:
			msgs[i] = "and " + w.phrase(1) + "?"
		case 9:
			msgs[i] = w.phrase(3)
		default:
			f := strings.Fields(questions[w.r.Intn(len(questions))])
			if len(f) > 2 {
				f = f[1:]
			}
			msgs[i] = strings.Join(f, " ")
		}
	}
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		t0 := time.Now()
		if _, err := e.Turn(ctx, Input{ConversationID: fmt.Sprintf("c%d", i%1000), Text: msgs[i%len(msgs)]}); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if n := len(lat); n > 0 {
		b.ReportMetric(float64(lat[n/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[n*99/100].Microseconds())/1000, "p99-ms")
	}
}
