package knowledge

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
)

// genKB writes n generated bilingual entries as one JSONL file and returns its
// path and some queries. Words are drawn from a Zipf distribution (as in natural
// text) over 5000 made-up English words and 2500 Han characters.
func genKB(tb testing.TB, n int) (string, []string) {
	tb.Helper()
	r := rand.New(rand.NewSource(1))
	words := make([]string, 5000)
	for i := range words {
		var b strings.Builder
		for range 3 + r.Intn(6) {
			b.WriteByte(byte('a' + r.Intn(26)))
		}
		words[i] = b.String()
	}
	han := make([]rune, 2500)
	for i := range han {
		han[i] = rune(0x4e00 + r.Intn(0x9fa5-0x4e00))
	}
	zw := rand.NewZipf(r, 1.1, 1, uint64(len(words)-1))
	zh := rand.NewZipf(r, 1.1, 1, uint64(len(han)-1))
	phrase := func(words0 int) string {
		var b strings.Builder
		for i := range words0 {
			if r.Intn(2) == 0 {
				if i > 0 {
					b.WriteByte(' ')
				}
				b.WriteString(words[zw.Uint64()])
			} else {
				for range 2 + r.Intn(3) {
					b.WriteRune(han[zh.Uint64()])
				}
			}
		}
		return b.String()
	}
	var sb strings.Builder
	for i := range n {
		fmt.Fprintf(&sb, `{"id":"g%05d","question":%q,"questions":[%q,%q],"answer":%q}`+"\n", i, phrase(6), phrase(5), phrase(7), phrase(40))
	}
	p := filepath.Join(tb.TempDir(), "kb.jsonl")
	if err := os.WriteFile(p, []byte(sb.String()), 0o644); err != nil {
		tb.Fatal(err)
	}
	queries := make([]string, 500)
	for i := range queries {
		queries[i] = phrase(2 + r.Intn(5))
	}
	return p, queries
}

// BenchmarkSearch measures one search on a generated 10k-entry KB; it also
// reports the p50 and p99 latency of the individual searches.
func BenchmarkSearch(b *testing.B) {
	ctx := context.Background()
	p, queries := genKB(b, 10000)
	x, err := Open(ctx, Config{Dir: p})
	if err != nil {
		b.Fatal(err)
	}
	defer x.Close()
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		if _, err := x.Search(ctx, queries[i%len(queries)], 10); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(percentile(lat, 0.50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(percentile(lat, 0.99).Microseconds())/1000, "p99-ms")
}

// BenchmarkReindexVisible measures how long an edit of one entry file takes to
// become visible to Search while Run watches a 10k-entry knowledge directory
// with the default poll interval; it reports the mean and the worst case.
func BenchmarkReindexVisible(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, _ := genKB(b, 10000)
	dir := filepath.Dir(p)
	entry := func(word string) Entry {
		return Entry{ID: "edited", Questions: []string{"How do I " + word + " my order?"}, Answer: "Like this."}
	}
	if _, err := WriteEntryFile(dir, entry("zzinitial")); err != nil {
		b.Fatal(err)
	}
	x, err := Open(ctx, Config{Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	defer x.Close()
	done := make(chan error, 1)
	go func() { done <- x.Run(ctx) }()
	var worst time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		word := fmt.Sprintf("zzword%c%c", 'a'+i%26, 'a'+i/26%26)
		start := time.Now()
		if _, err := WriteEntryFile(dir, entry(word)); err != nil {
			b.Fatal(err)
		}
		for {
			res, err := x.Search(ctx, word, 1)
			if err != nil {
				b.Fatal(err)
			}
			if len(res.Hits) > 0 && res.Hits[0].ID == "edited" {
				break
			}
			if time.Since(start) > 10*time.Second {
				b.Fatalf("edit %q not visible after 10s", word)
			}
			time.Sleep(time.Millisecond)
		}
		worst = max(worst, time.Since(start))
	}
	b.StopTimer()
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(worst.Microseconds())/1000, "max-ms")
}
