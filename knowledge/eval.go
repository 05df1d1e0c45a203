package knowledge

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/caunoi/caunoi"
)

// EvalQuestion is one line of a question file (JSON Lines):
// {"qid","question","relevant":[ids],"type"}. Relevant holds entry ids for
// the handbook, article ids for a corpus; it is empty for a question the
// source does not answer.
type EvalQuestion struct {
	QID      string   `json:"qid"`
	Question string   `json:"question"`
	Relevant []string `json:"relevant"`
	Type     string   `json:"type"`
}

// ReadQuestions reads a question file. name is used in errors, which read
// "name:line: message".
func ReadQuestions(r io.Reader, name string) ([]EvalQuestion, error) {
	var out []EvalQuestion
	err := readJSONLines(r, name, func(line int, b []byte) error {
		var q EvalQuestion
		if err := json.Unmarshal(b, &q); err != nil {
			return fmt.Errorf("%s:%d: dòng không phải JSON hợp lệ: %v: %w", name, line, err, caunoi.ErrInvalid)
		}
		if strings.TrimSpace(q.Question) == "" {
			return fmt.Errorf("%s:%d: thiếu \"question\": %w", name, line, caunoi.ErrInvalid)
		}
		if q.QID == "" {
			q.QID = fmt.Sprintf("%s:%d", name, line)
		}
		out = append(out, q)
		return nil
	})
	return out, err
}

// corpusArticle is one line of an ALQAC-style corpus.
type corpusArticle struct {
	ID        string `json:"id"`
	LawID     string `json:"law_id"`
	ArticleID string `json:"article_id"`
	Title     string `json:"title"`
	Text      string `json:"text"`
	LawName   string `json:"law_name"`
	LawNumber string `json:"law_number"`
}

// ReadCorpus reads a corpus of statute articles in the ALQAC JSON Lines
// format ({"id","law_id","article_id","title","text","law_name",
// "law_number","source"}) as passages: one article is one passage whose ID
// and EntryID are the article's id, Title the law's name, Section the
// article's heading and LegalBasis the law and article.
func ReadCorpus(r io.Reader, name string) ([]caunoi.Passage, error) {
	var out []caunoi.Passage
	err := readJSONLines(r, name, func(line int, b []byte) error {
		var a corpusArticle
		if err := json.Unmarshal(b, &a); err != nil {
			return fmt.Errorf("%s:%d: dòng không phải JSON hợp lệ: %v: %w", name, line, err, caunoi.ErrInvalid)
		}
		if a.ID == "" {
			return fmt.Errorf("%s:%d: thiếu \"id\": %w", name, line, caunoi.ErrInvalid)
		}
		law := a.LawName
		if law == "" {
			law = a.LawID
		}
		legal := law
		if a.LawNumber != "" {
			legal += " (" + a.LawNumber + ")"
		}
		if a.ArticleID != "" {
			legal += ", Điều " + a.ArticleID
		}
		out = append(out, caunoi.Passage{
			ID:         a.ID,
			EntryID:    a.ID,
			Title:      law,
			Section:    a.Title,
			TitlePath:  []string{law, a.Title},
			Text:       a.Text,
			LegalBasis: []string{legal},
			File:       name,
			Line:       line,
		})
		return nil
	})
	return out, err
}

func readJSONLines(r io.Reader, name string, each func(line int, b []byte) error) error {
	br := bufio.NewReader(r)
	line := 0
	for {
		b, err := br.ReadBytes('\n')
		if len(b) > 0 {
			line++
			if t := strings.TrimSpace(string(b)); t != "" {
				if e := each(line, []byte(t)); e != nil {
					return e
				}
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", name, err)
		}
	}
}

// EvalResult is the retrieval quality on one question set.
type EvalResult struct {
	File string `json:"file"`
	// N counts the questions with at least one relevant id: the ones that
	// R@k and MRR@10 are averaged over.
	N int `json:"n"`
	// R1, R3 and R10 are the share of a question's relevant ids found in
	// the first k entries, averaged; MRR10 is the mean of 1/rank of the
	// first relevant entry within the first 10 (0 when none).
	R1    float64 `json:"r1"`
	R3    float64 `json:"r3"`
	R10   float64 `json:"r10"`
	MRR10 float64 `json:"mrr10"`
	// Uncovered counts the questions with no relevant id; UncoveredLow is
	// the share of them answered with low or no confidence.
	Uncovered    int     `json:"uncovered,omitempty"`
	UncoveredLow float64 `json:"uncovered_low,omitempty"`
	// CoveredHigh is the share of covered questions whose first entry is
	// relevant and answered with high confidence.
	CoveredHigh float64 `json:"covered_high"`
	// Outcomes has one line per question, in input order.
	Outcomes []EvalOutcome `json:"-"`
}

// EvalOutcome is how one question fared.
type EvalOutcome struct {
	QID string
	// Rank is the 1-based rank of the first relevant entry within the
	// first 10, or 0.
	Rank       int
	Covered    bool
	Confidence caunoi.Confidence
	// Coverage and Pairs are the confidence features of the first hit.
	Coverage, Pairs float64
}

// evalDepth is how many distinct entries are ranked per question.
const evalDepth = 10

// Evaluate runs each question against x and measures R@1, R@3, R@10 and
// MRR@10 over distinct entries: passages of the same entry count once, at
// the rank of the best one. progress, when not nil, is called after each
// question. It stops with ctx's error when ctx ends.
func (x *Index) Evaluate(ctx context.Context, file string, qs []EvalQuestion, progress func(done, total int)) (EvalResult, error) {
	res := EvalResult{File: file, Outcomes: make([]EvalOutcome, 0, len(qs))}
	var uncLow, covHigh int
	for i, q := range qs {
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("evaluate %s: %w", file, err)
		}
		entries, conf, f, err := x.rankEntries(ctx, q.Question, evalDepth)
		if err != nil && !errors.Is(err, caunoi.ErrInvalid) {
			return res, fmt.Errorf("evaluate %s: question %s: %w", file, q.QID, err)
		}
		o := EvalOutcome{QID: q.QID, Covered: len(q.Relevant) > 0, Confidence: conf, Coverage: f.coverage, Pairs: f.pairs}
		if !o.Covered {
			res.Uncovered++
			if conf != caunoi.ConfidenceHigh {
				uncLow++
			}
		} else {
			rel := make(map[string]bool, len(q.Relevant))
			for _, id := range q.Relevant {
				rel[id] = true
			}
			found := [3]int{}
			for rank, e := range entries {
				if !rel[e] {
					continue
				}
				if o.Rank == 0 {
					o.Rank = rank + 1
				}
				for j, k := range [3]int{1, 3, 10} {
					if rank < k {
						found[j]++
					}
				}
			}
			n := float64(len(rel))
			res.N++
			res.R1 += float64(found[0]) / n
			res.R3 += float64(found[1]) / n
			res.R10 += float64(found[2]) / n
			if o.Rank > 0 {
				res.MRR10 += 1 / float64(o.Rank)
			}
			if o.Rank == 1 && conf == caunoi.ConfidenceHigh {
				covHigh++
			}
		}
		res.Outcomes = append(res.Outcomes, o)
		if progress != nil {
			progress(i+1, len(qs))
		}
	}
	if res.N > 0 {
		n := float64(res.N)
		res.R1 /= n
		res.R3 /= n
		res.R10 /= n
		res.MRR10 /= n
		res.CoveredHigh = float64(covHigh) / n
	}
	if res.Uncovered > 0 {
		res.UncoveredLow = float64(uncLow) / float64(res.Uncovered)
	}
	return res, nil
}

// rankEntries returns up to k distinct entry ids for q, best first, with the
// result's confidence and the features of the first hit.
func (x *Index) rankEntries(ctx context.Context, q string, k int) ([]string, caunoi.Confidence, features, error) {
	s, err := x.acquire()
	if err != nil {
		return nil, caunoi.ConfidenceNone, features{}, err
	}
	defer s.mu.RUnlock()
	aq, err := analyzeQuery(q, s.syn)
	if err != nil {
		return nil, caunoi.ConfidenceNone, features{}, err
	}
	rq := s.rk.compile(aq, s.rw)
	defer rq.release()
	idx, _, err := s.top(ctx, aq, rq, 3*k)
	if err != nil {
		return nil, caunoi.ConfidenceNone, features{}, err
	}
	var out []string
	seen := make(map[string]bool, k)
	for _, i := range idx {
		e := s.passages[i].EntryID
		if !seen[e] {
			seen[e] = true
			out = append(out, e)
			if len(out) == k {
				break
			}
		}
	}
	if len(idx) == 0 {
		return out, caunoi.ConfidenceNone, features{}, nil
	}
	f := s.rk.features(rq, idx[0])
	return out, judge(f), f, nil
}
