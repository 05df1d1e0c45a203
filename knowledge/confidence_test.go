package knowledge

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/handbook"
)

// handbookOutcomes runs every handbook question set against the embedded
// handbook.
func handbookOutcomes(t *testing.T) []EvalOutcome {
	t.Helper()
	x, err := Open(context.Background(), handbook.FS(), time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	files, err := filepath.Glob("testdata/eval/*.jsonl")
	if err != nil || len(files) == 0 {
		t.Skip("no handbook question sets in testdata/eval")
	}
	sort.Strings(files)
	var out []EvalOutcome
	for _, f := range files {
		qs := mustReadQuestions(t, f)
		res, err := x.Evaluate(context.Background(), filepath.Base(f), qs, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: n=%d R@1=%.3f MRR@10=%.3f uncovered=%d low/none=%.3f right+high=%.3f",
			res.File, res.N, res.R1, res.MRR10, res.Uncovered, res.UncoveredLow, res.CoveredHigh)
		out = append(out, res.Outcomes...)
	}
	return out
}

// rates returns the share of uncovered questions judged below high, and
// the share of covered questions with the right first entry judged high,
// under the given thresholds.
func rates(os []EvalOutcome, cov, pairs float64) (uncLow, rightHigh float64) {
	var unc, uncL, right, rightH int
	for _, o := range os {
		high := o.Coverage >= cov && o.Pairs >= pairs
		if !o.Covered {
			unc++
			if !high {
				uncL++
			}
			continue
		}
		if o.Rank == 1 {
			right++
			if high {
				rightH++
			}
		}
	}
	if unc > 0 {
		uncLow = float64(uncL) / float64(unc)
	}
	if right > 0 {
		rightHigh = float64(rightH) / float64(right)
	}
	return uncLow, rightHigh
}

// TestConfidenceCalibration re-measures the confidence thresholds on the
// handbook question sets: uncovered questions must be answered low or none
// at least 90% of the time, and most right answers must be high. It also
// logs the thresholds that the same search over a grid would pick now.
func TestConfidenceCalibration(t *testing.T) {
	if _, err := os.Stat("testdata/eval"); err != nil {
		t.Skip("no handbook question sets")
	}
	outs := handbookOutcomes(t)
	uncLow, rightHigh := rates(outs, highCoverage, highPairs)
	t.Logf("constants coverage>=%.2f pairs>=%.2f: uncovered low/none %.3f, right answers high %.3f",
		highCoverage, highPairs, uncLow, rightHigh)
	if uncLow < 0.90 {
		t.Errorf("uncovered questions answered low/none %.3f; want at least 0.90", uncLow)
	}
	if rightHigh < 0.70 {
		t.Errorf("right answers judged high %.3f; want at least 0.70", rightHigh)
	}
	bestC, bestP, bestR := 0.0, 0.0, -1.0
	for c := 0.30; c <= 1.0001; c += 0.05 {
		for p := 0.0; p <= 1.0001; p += 0.05 {
			u, r := rates(outs, c, p)
			if u >= 0.95 && r > bestR {
				bestC, bestP, bestR = c, p, r
			}
		}
	}
	t.Logf("grid with uncovered low/none >= 0.95: coverage>=%.2f pairs>=%.2f gives right answers high %.3f", bestC, bestP, bestR)

	// Confidence none: nothing the handbook speaks of.
	x := MustOpenTestIndex(t)
	res, err := x.Search(context.Background(), "giá vàng hôm nay bao nhiêu", 3)
	if err != nil {
		t.Fatal(err)
	}
	if res.Confidence == caunoi.ConfidenceHigh {
		t.Errorf("confidence %v for an unrelated question; want low or none", res.Confidence)
	}
}

func TestConfidenceJudge(t *testing.T) {
	tests := []struct {
		f    features
		want caunoi.Confidence
	}{
		{features{coverage: 1, pairs: 1}, caunoi.ConfidenceHigh},
		{features{coverage: highCoverage, pairs: highPairs}, caunoi.ConfidenceHigh},
		{features{coverage: 1, pairs: 0}, caunoi.ConfidenceLow},
		{features{coverage: noneCoverage, pairs: 0}, caunoi.ConfidenceLow},
		{features{coverage: noneCoverage / 2, pairs: 1}, caunoi.ConfidenceNone},
	}
	for _, tt := range tests {
		if got := judge(tt.f); got != tt.want {
			t.Errorf("judge(%+v) = %v; want %v", tt.f, got, tt.want)
		}
	}
}

func TestConfidenceOfResult(t *testing.T) {
	x := MustOpenTestIndex(t)
	res, err := x.Search(context.Background(), "khai sinh quá hạn có bị phạt không", 3)
	if err != nil {
		t.Fatal(err)
	}
	if res.Confidence != caunoi.ConfidenceHigh || res.Hits[0].Confidence != caunoi.ConfidenceHigh {
		t.Errorf("confidence %v (first hit %v); want high", res.Confidence, res.Hits[0].Confidence)
	}
}
