package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/knowledge"
)

func init() {
	register("eval", "đo chất lượng tìm kiếm trên bộ câu hỏi", runEval)
}

const evalUsage = `Cách dùng: caunoi eval [--corpus TỆP.jsonl] [--handbook THƯ_MỤC] [--json] CÂU_HỎI.jsonl...

Đo chất lượng tìm kiếm trên từng tệp câu hỏi (mỗi dòng một đối tượng JSON
{"qid","question","relevant":[mã],"type"}) và in một dòng cho mỗi tệp:
  R@1, R@3, R@10  tỉ lệ mã đúng nằm trong 1, 3, 10 kết quả đầu (trung bình)
  MRR@10          trung bình 1/hạng của kết quả đúng đầu tiên trong 10 kết quả
  chưa có/thấp    với câu hỏi sổ tay chưa trả lời ("relevant": []): tỉ lệ
                  được trả lời với độ tin cậy thấp hoặc không tìm thấy
  đúng/cao        tỉ lệ câu hỏi có kết quả đầu đúng và độ tin cậy cao

Không có --corpus: tìm trong sổ tay, mã đúng là mã mục (id) của sổ tay.
Có --corpus: tìm trong kho điều luật dạng ALQAC, mỗi dòng
{"id","law_id","article_id","title","text","law_name","law_number","source"},
mỗi điều là một đoạn, mã đúng là "id".

Tham số:
  --corpus TỆP.jsonl  kho văn bản thay cho sổ tay
  --handbook THƯ_MỤC  dùng sổ tay trong thư mục này (mặc định: sổ tay đóng gói)
  --json              in mỗi tệp một dòng JSON {"file","n","r1","r3","r10","mrr10"}
  -h, --help          in hướng dẫn này
`

func runEval(ctx context.Context, m *Main, args []string) error {
	fset := flag.NewFlagSet("eval", flag.ContinueOnError)
	fset.SetOutput(io.Discard)
	asJSON := fset.Bool("json", false, "")
	corpus := fset.String("corpus", "", "")
	dir := fset.String("handbook", "", "")
	help := fset.Bool("help", false, "")
	fset.BoolVar(help, "h", false, "")
	if err := fset.Parse(reorderFlags(args, map[string]bool{"corpus": true, "handbook": true})); err != nil {
		fmt.Fprintf(m.Stderr, "caunoi eval: %s\n\n%s", flagError(err), evalUsage)
		return errUsage
	}
	if *help {
		fmt.Fprint(m.Stdout, evalUsage)
		return nil
	}
	files := trimArgs(fset.Args())
	if len(files) == 0 {
		fmt.Fprintf(m.Stderr, "caunoi eval: thiếu tệp câu hỏi\n\n%s", evalUsage)
		return errUsage
	}
	if *corpus != "" && *dir != "" {
		fmt.Fprintln(m.Stderr, "caunoi eval: chỉ dùng một trong --corpus và --handbook")
		return errUsage
	}
	sets := make([][]knowledge.EvalQuestion, len(files))
	for i, f := range files {
		qs, err := readQuestionFile(f)
		if err != nil {
			fmt.Fprintf(m.Stderr, "caunoi eval: %v\n", err)
			return &exitError{code: 1, err: errUsage}
		}
		sets[i] = qs
	}

	var x *knowledge.Index
	if *corpus != "" {
		fmt.Fprintf(m.Stderr, "đang lập chỉ mục %s…\n", *corpus)
		ps, err := readCorpusFile(*corpus)
		if err != nil {
			fmt.Fprintf(m.Stderr, "caunoi eval: %v\n", err)
			return &exitError{code: 1, err: errUsage}
		}
		x, err = knowledge.BuildPassages(ctx, ps, nil)
		if err != nil {
			return fmt.Errorf("lập chỉ mục %s: %w", *corpus, err)
		}
	} else {
		var err error
		if x, err = openIndex(ctx, m, *dir); err != nil {
			return err
		}
	}
	defer x.Close()

	var tw *tabwriter.Writer
	if !*asJSON {
		tw = tabwriter.NewWriter(m.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "tệp\tsố câu\tR@1\tR@3\tR@10\tMRR@10\tchưa có/thấp\tđúng/cao\t")
	}
	for i, f := range files {
		name := filepath.Base(f)
		last := -1
		progress := func(done, total int) {
			if pct := done * 10 / total; total >= 200 && pct != last {
				last = pct
				fmt.Fprintf(m.Stderr, "%s: %d/%d câu\n", name, done, total)
			}
		}
		res, err := x.Evaluate(ctx, name, sets[i], progress)
		if err != nil {
			return fmt.Errorf("đo %s: %w", name, err)
		}
		if *asJSON {
			if err := writeEvalJSON(m.Stdout, res); err != nil {
				return err
			}
			continue
		}
		unc := "–"
		if res.Uncovered > 0 {
			unc = fmt.Sprintf("%.3f (%d câu)", res.UncoveredLow, res.Uncovered)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.3f\t%.3f\t%.3f\t%.3f\t%s\t%.3f\t\n", name, res.N, res.R1, res.R3, res.R10, res.MRR10, unc, res.CoveredHigh)
	}
	if tw != nil {
		if err := tw.Flush(); err != nil {
			return fmt.Errorf("ghi kết quả: %w", err)
		}
	}
	return nil
}

type evalJSON struct {
	File         string   `json:"file"`
	N            int      `json:"n"`
	R1           float64  `json:"r1"`
	R3           float64  `json:"r3"`
	R10          float64  `json:"r10"`
	MRR10        float64  `json:"mrr10"`
	Uncovered    int      `json:"uncovered,omitempty"`
	UncoveredLow *float64 `json:"uncovered_low,omitempty"`
	CoveredHigh  float64  `json:"covered_high"`
}

func writeEvalJSON(w io.Writer, r knowledge.EvalResult) error {
	out := evalJSON{File: r.File, N: r.N, R1: round4(r.R1), R3: round4(r.R3), R10: round4(r.R10),
		MRR10: round4(r.MRR10), Uncovered: r.Uncovered, CoveredHigh: round4(r.CoveredHigh)}
	if r.Uncovered > 0 {
		v := round4(r.UncoveredLow)
		out.UncoveredLow = &v
	}
	b, err := json.Marshal(out)
	if err != nil {
		return fmt.Errorf("ghi kết quả: %w", err)
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

func round4(v float64) float64 { return float64(int64(v*10000+0.5)) / 10000 }

func readQuestionFile(path string) ([]knowledge.EvalQuestion, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("không mở được tệp câu hỏi %s", path)
	}
	defer f.Close()
	qs, err := knowledge.ReadQuestions(f, path)
	if err != nil {
		return nil, err
	}
	if len(qs) == 0 {
		return nil, fmt.Errorf("%s: tệp không có câu hỏi nào: %w", path, caunoi.ErrInvalid)
	}
	return qs, nil
}

func readCorpusFile(path string) ([]caunoi.Passage, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("không mở được kho văn bản %s", path)
	}
	defer f.Close()
	ps, err := knowledge.ReadCorpus(f, path)
	if err != nil {
		return nil, err
	}
	if len(ps) == 0 {
		return nil, errors.New(path + ": kho văn bản không có điều nào")
	}
	return ps, nil
}
