// Package bench compares the handbook search with two peers on the same
// data: bleve with its default (standard) analyzer, and SQLite FTS5 with
// the unicode61 tokenizer that removes diacritics. It is a module of its
// own so that the product does not depend on SQLite.
package bench

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"golang.org/x/text/unicode/norm"
	_ "modernc.org/sqlite"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/knowledge"
)

const alqacDir = "../../shared/bench/alqac"

// engine is one search engine under comparison.
type engine interface {
	// top returns up to k passage ids for q, best first.
	top(ctx context.Context, q string, k int) ([]string, error)
	close()
}

type engineMaker struct {
	name  string
	build func(ctx context.Context, ps []caunoi.Passage) (engine, error)
}

var engines = []engineMaker{
	{"caunoi", buildCaunoi},
	{"bleve-standard", buildBleveStandard},
	{"sqlite-fts5", buildFTS5},
}

// caunoi: the product's index.
type caunoiEngine struct{ x *knowledge.Index }

func buildCaunoi(ctx context.Context, ps []caunoi.Passage) (engine, error) {
	x, err := knowledge.BuildPassages(ctx, ps, nil)
	return caunoiEngine{x}, err
}

func (e caunoiEngine) top(ctx context.Context, q string, k int) ([]string, error) {
	res, err := e.x.Search(ctx, q, k)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(res.Hits))
	for i, h := range res.Hits {
		ids[i] = h.Passage.ID
	}
	return ids, nil
}

func (e caunoiEngine) close() { e.x.Close() }

// bleve with the default mapping: standard analyzer, one _all field.
type bleveEngine struct{ idx bleve.Index }

func buildBleveStandard(ctx context.Context, ps []caunoi.Passage) (engine, error) {
	idx, err := bleve.NewUsing("", bleve.NewIndexMapping(), scorch.Name, scorch.Name, nil)
	if err != nil {
		return nil, err
	}
	b := idx.NewBatch()
	for _, p := range ps {
		if err := b.Index(p.ID, map[string]any{"title": p.Title + " " + p.Section, "text": p.Text}); err != nil {
			return nil, err
		}
	}
	if err := idx.Batch(b); err != nil {
		return nil, err
	}
	return bleveEngine{idx}, nil
}

func (e bleveEngine) top(ctx context.Context, q string, k int) ([]string, error) {
	req := bleve.NewSearchRequestOptions(bleve.NewMatchQuery(q), k, 0, false)
	res, err := e.idx.SearchInContext(ctx, req)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(res.Hits))
	for i, h := range res.Hits {
		ids[i] = h.ID
	}
	return ids, nil
}

func (e bleveEngine) close() { e.idx.Close() }

// SQLite FTS5, unicode61 with diacritics removed, ranked by bm25().
type ftsEngine struct {
	db   *sql.DB
	stmt *sql.Stmt
}

func buildFTS5(ctx context.Context, ps []caunoi.Passage) (engine, error) {
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `CREATE VIRTUAL TABLE p USING fts5(id UNINDEXED, title, text, tokenize='unicode61 remove_diacritics 2')`); err != nil {
		return nil, err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	ins, err := tx.PrepareContext(ctx, `INSERT INTO p(id, title, text) VALUES (?, ?, ?)`)
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		if _, err := ins.ExecContext(ctx, p.ID, p.Title+" "+p.Section, p.Text); err != nil {
			return nil, err
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	stmt, err := db.PrepareContext(ctx, `SELECT id FROM p WHERE p MATCH ? ORDER BY bm25(p) LIMIT ?`)
	if err != nil {
		return nil, err
	}
	return ftsEngine{db, stmt}, nil
}

// ftsQuery ORs the words of q, each quoted so that no word is read as an
// FTS5 operator.
func ftsQuery(q string) string {
	var terms []string
	for _, w := range strings.FieldsFunc(q, func(r rune) bool {
		return !(r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r > 127 && !strings.ContainsRune("…“”‘’–—", r))
	}) {
		terms = append(terms, `"`+w+`"`)
	}
	return strings.Join(terms, " OR ")
}

func (e ftsEngine) top(ctx context.Context, q string, k int) ([]string, error) {
	fq := ftsQuery(norm.NFC.String(q))
	if fq == "" {
		return nil, nil
	}
	rows, err := e.stmt.QueryContext(ctx, fq, k)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

func (e ftsEngine) close() { e.db.Close() }

func readALQAC(tb testing.TB) []caunoi.Passage {
	tb.Helper()
	f, err := os.Open(filepath.Join(alqacDir, "corpus.jsonl"))
	if err != nil {
		tb.Skipf("ALQAC benchmark not available: %v", err)
	}
	defer f.Close()
	ps, err := knowledge.ReadCorpus(f, "corpus.jsonl")
	if err != nil {
		tb.Fatal(err)
	}
	return ps
}

// TestPeersQuality prints R@1, R@3, R@10 and MRR@10 of each engine on the
// ALQAC dev questions, with and without diacritics.
func TestPeersQuality(t *testing.T) {
	ps := readALQAC(t)
	ctx := context.Background()
	for _, em := range engines {
		e, err := em.build(ctx, ps)
		if err != nil {
			t.Fatalf("%s: %v", em.name, err)
		}
		for _, file := range []string{"questions-dev.jsonl", "questions-dev-nodiacritics.jsonl"} {
			f, err := os.Open(filepath.Join(alqacDir, file))
			if err != nil {
				t.Skip(err)
			}
			qs, err := knowledge.ReadQuestions(f, file)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			var r1, r3, r10, mrr float64
			for _, q := range qs {
				ids, err := e.top(ctx, q.Question, 10)
				if err != nil {
					t.Fatalf("%s: %q: %v", em.name, q.Question, err)
				}
				rel := map[string]bool{}
				for _, id := range q.Relevant {
					rel[id] = true
				}
				first := 0
				var f1, f3, f10 float64
				for i, id := range ids {
					if !rel[id] {
						continue
					}
					if first == 0 {
						first = i + 1
					}
					if i < 1 {
						f1++
					}
					if i < 3 {
						f3++
					}
					f10++
				}
				n := float64(len(rel))
				r1, r3, r10 = r1+f1/n, r3+f3/n, r10+f10/n
				if first > 0 {
					mrr += 1 / float64(first)
				}
			}
			n := float64(len(qs))
			t.Logf("| %s | %s | %.3f | %.3f | %.3f | %.3f |", em.name, file, r1/n, r3/n, r10/n, mrr/n)
		}
		e.close()
	}
}

// generated returns n deterministic passages of about 150 syllables drawn
// with a Zipf law from Vietnamese-like syllables.
func generated(n int) []caunoi.Passage {
	onsets := strings.Fields("b c ch d đ g gi h k kh l m n ng nh ph qu r s t th tr v x")
	rhymes := strings.Fields("a ai an ang anh ao au ay e em en eng ê êm ên i ia im in inh iu o oa oai oan oang oi om on ong ô ôi ôm ôn ông ơ ơi ơm ơn u ua uân uy uyên ưa ưi ươi ương ươn ưu")
	tones := []string{"", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323"}
	var voc []string
	for _, o := range onsets {
		for _, r := range rhymes {
			for _, t := range tones {
				voc = append(voc, norm.NFC.String(o+r+t))
			}
		}
	}
	rng := rand.New(rand.NewPCG(2025, 7))
	rng.Shuffle(len(voc), func(i, j int) { voc[i], voc[j] = voc[j], voc[i] })
	z := rand.NewZipf(rng, 1.1, 4, uint64(len(voc)-1))
	words := func(k int) string {
		w := make([]string, k)
		for i := range w {
			w[i] = voc[z.Uint64()]
		}
		return strings.Join(w, " ")
	}
	ps := make([]caunoi.Passage, n)
	for i := range ps {
		var text strings.Builder
		for p := 0; p < 5; p++ {
			if p > 0 {
				text.WriteString("\n\n")
			}
			text.WriteString(words(26+rng.IntN(8)) + ".")
		}
		ps[i] = caunoi.Passage{ID: fmt.Sprintf("doan-%d", i), EntryID: fmt.Sprintf("doan-%d", i),
			Title: words(5), Section: words(3), Text: text.String()}
	}
	return ps
}

// BenchmarkPeersSearch20k measures each engine's search over 20,000
// generated passages (10 results; the product's snippets and confidence
// included), with latency percentiles.
func BenchmarkPeersSearch20k(b *testing.B) {
	ps := generated(20000)
	rng := rand.New(rand.NewPCG(7, 2025))
	qs := make([]string, 1000)
	for i := range qs {
		w := strings.Fields(ps[rng.IntN(len(ps))].Text)
		k := 5 + rng.IntN(10)
		at := rng.IntN(len(w) - k)
		qs[i] = strings.Join(w[at:at+k], " ")
	}
	ctx := context.Background()
	for _, em := range engines {
		t0 := time.Now()
		e, err := em.build(ctx, ps)
		if err != nil {
			b.Fatal(err)
		}
		build := time.Since(t0)
		b.Run(em.name, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				s := time.Now()
				if _, err := e.top(ctx, qs[i%len(qs)], 10); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(s))
			}
			b.StopTimer()
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50_ms")
			b.ReportMetric(float64(lat[(len(lat)-1)*99/100].Microseconds())/1000, "p99_ms")
			b.ReportMetric(build.Seconds(), "build_s")
		})
		e.close()
	}
}
