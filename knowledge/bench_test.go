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

// benchWords and benchHan are the vocabulary of the generated benchmark KB.
var benchWords = strings.Fields(`order refund shipping delivery payment invoice account password coupon warranty
return exchange parcel package tracking address cancel card alipay wechat price discount member points stock
size colour app login email phone store gift voucher express international customs tax fee free days week`)

const benchHan = "订单退款快递发货付款发票账号密码优惠券保修退货换货包裹物流地址取消银行卡支付宝微信价格会员积分库存尺码颜色登录邮箱手机"

// genKB writes n generated bilingual entries as one JSONL file and returns its path and some queries.
func genKB(tb testing.TB, n int) (string, []string) {
	tb.Helper()
	r := rand.New(rand.NewSource(1))
	han := []rune(benchHan)
	phrase := func(words int) string {
		var b strings.Builder
		for i := range words {
			if r.Intn(2) == 0 {
				if i > 0 {
					b.WriteByte(' ')
				}
				b.WriteString(benchWords[r.Intn(len(benchWords))])
			} else {
				for range 2 + r.Intn(3) {
					b.WriteRune(han[r.Intn(len(han))])
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
