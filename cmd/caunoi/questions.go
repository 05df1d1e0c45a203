package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/caunoi/caunoi"
)

func init() {
	register("questions", "xóa câu hỏi cũ trong nhật ký câu hỏi", runQuestions)
}

const questionsUsage = `Cách dùng: caunoi questions prune --keep SỐ_NGÀYd [--store bolt:ĐƯỜNG_DẪN|redis://…]

Nhật ký câu hỏi giữ mọi câu cán bộ đã hỏi (nội dung, người hỏi, xã) để làm số
liệu và báo cáo câu hỏi sổ tay chưa trả lời được. Lệnh prune xóa các câu hỏi
cũ hơn số ngày giữ lại, cũ nhất trước, mỗi đợt 500 câu, và in tiến độ. Dừng giữa
chừng (Ctrl+C) thì các đợt đã xong vẫn xóa, đợt đang chạy không xóa gì; chạy lại
để xóa tiếp. Phiếu hỗ trợ giữ nguyên: phiếu có bản sao câu hỏi của nó.

caunoi serve tự làm việc này mỗi giờ khi đặt KEEP_QUESTIONS.

Tham số:
  --keep SỐ_NGÀYd   giữ lại các câu hỏi trong bấy nhiêu ngày gần nhất, từ 90d
                    đến 36500d (ví dụ 730d)
  --store ĐỊA_CHỈ   nơi lưu dữ liệu (mặc định: biến STORE hoặc REDIS_URL,
                    nếu không có thì bolt:caunoi.db)
  -h, --help        in hướng dẫn này

Ví dụ: caunoi questions prune --keep 730d --store bolt:data/caunoi.db
`

func runQuestions(ctx context.Context, m *Main, args []string) error {
	var store, keep string
	var help bool
	spec := flagSpec{
		values:   map[string]*string{"store": &store, "keep": &keep},
		switches: map[string]*bool{"h": &help, "help": &help},
	}
	pos, err := spec.parse(trimArgs(args))
	if err != nil {
		return badUsage(m.Stderr, "questions", questionsUsage, err)
	}
	if help {
		fmt.Fprint(m.Stdout, questionsUsage)
		return nil
	}
	switch {
	case len(pos) == 0:
		return badUsage(m.Stderr, "questions", questionsUsage, errors.New("thiếu lệnh (prune)"))
	case pos[0] != "prune":
		return badUsage(m.Stderr, "questions", questionsUsage, fmt.Errorf("không có lệnh %q", pos[0]))
	case len(pos) > 1:
		return badUsage(m.Stderr, "questions", questionsUsage, fmt.Errorf("lệnh prune không nhận %q", pos[1]))
	case keep == "":
		return badUsage(m.Stderr, "questions", questionsUsage, errors.New("thiếu --keep: cần cho biết giữ lại câu hỏi trong bao nhiêu ngày"))
	}
	d, err := keepQuestions(keep)
	if err == nil && d == 0 {
		err = errors.New("forever nghĩa là không xóa gì; cần số ngày, ví dụ 730d")
	}
	if err != nil {
		return badUsage(m.Stderr, "questions", questionsUsage, fmt.Errorf("--keep %q: %v", keep, err))
	}
	s, err := openStore(ctx, storeURL(m, store))
	if err != nil {
		return failf("%v", err)
	}
	defer s.Close()
	before := time.Now().Add(-d)
	n, err := caunoi.PruneOldQuestions(ctx, s, before, func(total int) {
		if total%5000 == 0 {
			fmt.Fprintf(m.Stderr, "đã xóa %d câu hỏi…\n", total)
		}
	})
	when := before.In(caunoi.VietnamZone()).Format("02/01/2006 15:04")
	if err != nil {
		return failf("đã xóa %d câu hỏi gửi trước %s rồi dừng vì lỗi: %v; chạy lại để xóa tiếp", n, when, err)
	}
	if n == 0 {
		fmt.Fprintf(m.Stdout, "Không có câu hỏi nào gửi trước %s (giờ Việt Nam).\n", when)
		return nil
	}
	fmt.Fprintf(m.Stdout, "Đã xóa %d câu hỏi gửi trước %s (giờ Việt Nam).\n", n, when)
	return nil
}
