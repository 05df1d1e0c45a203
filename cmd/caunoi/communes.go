package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/caunoi/caunoi"
)

func init() {
	register("communes", "nhập và xem danh mục xã, phường", runCommunes)
}

const communesUsage = `Cách dùng: caunoi communes LỆNH [--store bolt:ĐƯỜNG_DẪN|redis://…]

Các lệnh:
  import TỆP.csv   thay toàn bộ danh mục bằng nội dung tệp. Tệp CSV, UTF-8 (có hoặc
                   không có BOM), dòng tiêu đề code,name,province,former; cột former
                   ghi các đơn vị cũ nhập vào, cách nhau bằng dấu ;. Dòng bắt đầu
                   bằng # là ghi chú. Có dòng lỗi thì không nhập gì và in mọi lỗi
                   dạng TỆP:dòng: nội dung.
  list             in danh mục hiện có.

Tham số:
  --store ĐỊA_CHỈ  nơi lưu dữ liệu (mặc định: biến STORE hoặc REDIS_URL,
                   nếu không có thì bolt:caunoi.db)
  -h, --help       in hướng dẫn này

Ví dụ: caunoi communes import examples/communes-sample.csv
`

func runCommunes(ctx context.Context, m *Main, args []string) error {
	var store string
	var help bool
	spec := flagSpec{
		values:   map[string]*string{"store": &store},
		switches: map[string]*bool{"h": &help, "help": &help},
	}
	pos, err := spec.parse(trimArgs(args))
	if err != nil {
		return badUsage(m.Stderr, "communes", communesUsage, err)
	}
	if help {
		fmt.Fprint(m.Stdout, communesUsage)
		return nil
	}
	if len(pos) == 0 {
		return badUsage(m.Stderr, "communes", communesUsage, errors.New("thiếu lệnh (import hoặc list)"))
	}
	switch pos[0] {
	case "import":
		if len(pos) != 2 {
			return badUsage(m.Stderr, "communes", communesUsage, errors.New("lệnh import cần đúng một tệp CSV"))
		}
		return importCommunes(ctx, m, storeURL(m, store), pos[1])
	case "list":
		if len(pos) != 1 {
			return badUsage(m.Stderr, "communes", communesUsage, fmt.Errorf("lệnh list không nhận %q", pos[1]))
		}
		return listCommunes(ctx, m, storeURL(m, store))
	}
	return badUsage(m.Stderr, "communes", communesUsage, fmt.Errorf("không có lệnh %q", pos[0]))
}

func importCommunes(ctx context.Context, m *Main, store, path string) error {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return failf("không có tệp %s", path)
		}
		return failf("không mở được tệp %s: %v", path, err)
	}
	defer f.Close()
	communes, err := caunoi.ParseCommunesCSV(f)
	var ie *caunoi.ImportError
	if errors.As(err, &ie) {
		for _, r := range ie.Rows {
			fmt.Fprintf(m.Stderr, "%s:%d: %s\n", path, r.Line, r.Msg)
		}
		return failf("không nhập gì: %d lỗi trong %s; sửa các dòng trên rồi nhập lại", len(ie.Rows), path)
	}
	if err != nil {
		return failf("không đọc được tệp %s: %v", path, err)
	}
	s, err := openStore(ctx, store)
	if err != nil {
		return failf("%v", err)
	}
	defer s.Close()
	if err := s.ReplaceCommunes(ctx, communes); err != nil {
		return failf("không lưu được danh mục: %v", err)
	}
	provinces := map[string]bool{}
	for _, c := range communes {
		provinces[c.Province] = true
	}
	fmt.Fprintf(m.Stdout, "Đã nhập %d xã, phường thuộc %d tỉnh, thành phố.\n", len(communes), len(provinces))
	return nil
}

func listCommunes(ctx context.Context, m *Main, store string) error {
	s, err := openStore(ctx, store)
	if err != nil {
		return failf("%v", err)
	}
	defer s.Close()
	communes, err := s.Communes(ctx)
	if err != nil {
		return failf("không đọc được danh mục: %v", err)
	}
	if len(communes) == 0 {
		fmt.Fprintln(m.Stdout, "Danh mục trống. Nhập bằng: caunoi communes import TỆP.csv")
		return nil
	}
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MÃ\tTÊN\tTỈNH, THÀNH PHỐ\tĐƠN VỊ CŨ")
	for _, c := range communes {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Code, c.Name, c.Province, strings.Join(c.Former, "; "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "\nCộng: %d\n", len(communes))
	return nil
}
