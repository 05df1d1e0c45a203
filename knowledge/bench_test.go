package knowledge

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/text/unicode/norm"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/handbook"
)

// benchSyllables is the vocabulary of the generated corpus: Vietnamese-like
// syllables made of an onset, a rhyme and a tone, about 6,000 of them as in
// real text. The generator draws from it with a Zipf law.
var benchSyllables = func() []string {
	onsets := strings.Fields("b c ch d đ g gi h k kh l m n ng nh ph qu r s t th tr v x")
	rhymes := strings.Fields("a ai an ang anh ao au ay e em en eng ê êm ên i ia im in inh iu o oa oai oan oang oi om on ong ô ôi ôm ôn ông ơ ơi ơm ơn u ua uân uy uyên ưa ưi ươi ương ươn ưu")
	tones := []string{"", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323"}
	var out []string
	for _, o := range onsets {
		for _, r := range rhymes {
			for _, t := range tones {
				out = append(out, norm.NFC.String(o+r+t))
			}
		}
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}()

// benchPassages generates n passages of about 150 syllables, the same for
// every run.
func benchPassages(n int) []caunoi.Passage {
	rng := rand.New(rand.NewPCG(2025, 7))
	z := rand.NewZipf(rng, 1.1, 4, uint64(len(benchSyllables)-1))
	words := func(k int) string {
		w := make([]string, k)
		for i := range w {
			w[i] = benchSyllables[z.Uint64()]
		}
		return strings.Join(w, " ")
	}
	ps := make([]caunoi.Passage, n)
	for i := range ps {
		entry := fmt.Sprintf("linh-vuc-%d/muc-%d", i%40, i/8)
		var text strings.Builder
		for p := 0; p < 5; p++ {
			if p > 0 {
				text.WriteString("\n\n")
			}
			text.WriteString(words(26 + rng.IntN(8)))
			text.WriteString(".")
		}
		ps[i] = caunoi.Passage{
			ID:         fmt.Sprintf("%s#doan-%d", entry, i%8),
			EntryID:    entry,
			Title:      words(5),
			Section:    words(3),
			Text:       text.String(),
			Department: "tu-phap",
			Questions:  []string{words(8), words(9)},
			LegalBasis: []string{"Luật số " + strconv.Itoa(i%97) + "/2025/QH15"},
		}
	}
	return ps
}

// benchQueries takes n questions from the passages: a stretch of a
// passage's text, a third of them typed without marks.
func benchQueries(ps []caunoi.Passage, n int) []string {
	rng := rand.New(rand.NewPCG(7, 2025))
	qs := make([]string, n)
	for i := range qs {
		w := strings.Fields(ps[rng.IntN(len(ps))].Text)
		k := 5 + rng.IntN(10)
		at := rng.IntN(len(w) - k)
		q := strings.Join(w[at:at+k], " ")
		if i%3 == 0 {
			var b strings.Builder
			for _, x := range syllables(q) {
				b.WriteString(fold(q[x.start:x.end]))
				b.WriteByte(' ')
			}
			q = b.String()
		}
		qs[i] = q
	}
	return qs
}

var (
	bench20kOnce sync.Once
	bench20k     *Index
	bench20kPs   []caunoi.Passage
)

func mustBench20k(b *testing.B) (*Index, []caunoi.Passage) {
	bench20kOnce.Do(func() {
		bench20kPs = benchPassages(20000)
		x, err := BuildPassages(context.Background(), bench20kPs, nil)
		if err != nil {
			b.Fatal(err)
		}
		bench20k = x
	})
	if bench20k == nil {
		b.Fatal("20k index not built")
	}
	return bench20k, bench20kPs
}

// rssMB reads the resident set size of this process.
func rssMB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// BenchmarkBuild20k builds the index of 20,000 generated passages and
// reports the resident memory after the build, with the index alive.
func BenchmarkBuild20k(b *testing.B) {
	ps := benchPassages(20000)
	b.ResetTimer()
	var rss float64
	for i := 0; i < b.N; i++ {
		x, err := BuildPassages(context.Background(), ps, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		runtime.GC()
		rss = max(rss, rssMB())
		x.Close()
		b.StartTimer()
	}
	b.ReportMetric(rss, "rss_MB")
}

// BenchmarkBuildHandbook builds the index of the embedded handbook.
func BenchmarkBuildHandbook(b *testing.B) {
	h, probs := Load(handbook.FS(), time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	if err := probs.Err(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		x, err := Build(context.Background(), h)
		if err != nil {
			b.Fatal(err)
		}
		x.Close()
	}
}

// BenchmarkSearch20k runs questions against 20,000 passages, snippets and
// confidence included, and reports the latency percentiles.
func BenchmarkSearch20k(b *testing.B) {
	x, ps := mustBench20k(b)
	qs := benchQueries(ps, 1000)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if _, err := x.Search(context.Background(), qs[i%len(qs)], 5); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	reportPercentiles(b, lat)
}

func reportPercentiles(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 {
		i := int(p * float64(len(lat)-1))
		return float64(lat[i].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50_ms")
	b.ReportMetric(pct(0.99), "p99_ms")
}

// handbookQueries are questions as officials type them: with and without
// marks, with abbreviations, long and short, and some the handbook does
// not cover.
var handbookQueries = []string{
	"thu tuc dang ky khai sinh",
	"cấp lại căn cước công dân bị mất",
	"giá xăng hôm nay",
	"làm lại CCCD cho người già không đi lại được",
	"dang ky thuong tru cho con moi sinh",
	"UBND xã có được cấp GCN QSDĐ không",
	"đăng ký kết hôn với người nước ngoài cần giấy tờ gì",
	"bhxh tu nguyen dong bao nhieu",
	"chữ ký số của công chức xã hết hạn thì làm sao",
	"tai san cong du thua sau sap nhap xu ly the nao",
	"trích lục hộ tịch bản sao",
	"lich thi dau bong da tuan nay",
}

// BenchmarkSearchHandbook runs officials' questions against the embedded
// handbook, snippets and confidence included, and reports the latency
// percentiles.
func BenchmarkSearchHandbook(b *testing.B) {
	x, err := Open(context.Background(), handbook.FS(), time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		b.Fatal(err)
	}
	defer x.Close()
	benchSearcher(b, x)
}

// BenchmarkSearchHandbookWithoutSnippets is BenchmarkSearchHandbook as the
// bot searches: without snippets.
func BenchmarkSearchHandbookWithoutSnippets(b *testing.B) {
	x, err := Open(context.Background(), handbook.FS(), time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		b.Fatal(err)
	}
	defer x.Close()
	benchSearcher(b, x.WithoutSnippets())
}

func benchSearcher(b *testing.B, x caunoi.Searcher) {
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if _, err := x.Search(context.Background(), handbookQueries[i%len(handbookQueries)], 5); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	reportPercentiles(b, lat)
}
