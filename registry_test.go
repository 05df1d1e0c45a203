package caunoi_test

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"

	"github.com/caunoi/caunoi"
)

func TestParseCommunesCSV(t *testing.T) {
	// "Phường Bến Thành" typed with combining marks (NFD), as some keyboards do.
	decomposed := norm.NFD.String("Phường Bến Thành")
	in := "\uFEFFcode,name,province,former\n" +
		"26740,\"" + decomposed + "\",Thành phố Hồ Chí Minh,\"Phường Bến Thành; Phường Phạm Ngũ Lão ;Phường Cầu Ông Lãnh\"\n" +
		"\n" +
		"26734,  Phường   Sài Gòn ,Thành phố Hồ Chí Minh,\n"
	got, err := caunoi.ParseCommunesCSV(strings.NewReader(in))
	if err != nil {
		t.Fatalf("ParseCommunesCSV: %v", err)
	}
	want := []caunoi.Commune{
		{Code: "26740", Name: "Phường Bến Thành", Province: "Thành phố Hồ Chí Minh",
			Former: []string{"Phường Bến Thành", "Phường Phạm Ngũ Lão", "Phường Cầu Ông Lãnh"}},
		{Code: "26734", Name: "Phường Sài Gòn", Province: "Thành phố Hồ Chí Minh"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if !norm.NFC.IsNormalString(got[0].Name) {
		t.Errorf("name %q is not NFC", got[0].Name)
	}
}

func TestParseCommunesCSVColumnsInAnyOrder(t *testing.T) {
	in := "Name,Code,Province\nXã Tân Phú,25000,Tỉnh Đồng Nai\n"
	got, err := caunoi.ParseCommunesCSV(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []caunoi.Commune{{Code: "25000", Name: "Xã Tân Phú", Province: "Tỉnh Đồng Nai"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestParseCommunesCSVErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string // the line prefixes of the reported errors, in order
	}{
		{"empty file", "", []string{"line 1: "}},
		{"header only", "code,name,province,former\n", []string{"line 2: "}},
		{"missing column", "code,name\n1,Xã A\n", []string{"line 1: "}},
		{"unknown column", "code,name,province,district\n", []string{"line 1: "}},
		{
			"every bad row at once",
			"code,name,province,former\n" +
				"00001,Xã A,Tỉnh B,\n" +
				",Xã C,Tỉnh B,\n" +
				"00003,,Tỉnh B,\n" +
				"00004,Xã D,,\n" +
				"00001,Xã E,Tỉnh B,\n" +
				"00006,Xã F,Tỉnh B\n" +
				"mã 7,Xã G,Tỉnh B,\n" +
				"00008,Xã H,Tỉnh B,\n",
			[]string{"line 3: ", "line 4: ", "line 5: ", "line 6: ", "line 7: ", "line 8: "},
		},
		{"not utf-8", "code,name,province,former\n00001,X\xe3 A,T\xeanh B,\n", []string{"line 2: "}},
		{"broken quote", "code,name,province,former\n00001,\"Xã A,Tỉnh B,\n00002,Xã B,Tỉnh B,\n", []string{"line "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := caunoi.ParseCommunesCSV(strings.NewReader(tt.in))
			if got != nil {
				t.Errorf("returned %d communes with errors; want none", len(got))
			}
			if !errors.Is(err, caunoi.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			var ie *caunoi.ImportError
			if !errors.As(err, &ie) {
				t.Fatalf("err is %T, want *ImportError", err)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.want) {
				t.Fatalf("errors:\n%s\nwant %d lines", err, len(tt.want))
			}
			for i, prefix := range tt.want {
				if !strings.HasPrefix(lines[i], prefix) {
					t.Errorf("error %d = %q, want prefix %q", i, lines[i], prefix)
				}
			}
		})
	}
}

func TestParseCommunesCSVDuplicateNamesLine(t *testing.T) {
	in := "code,name,province\n26734,Phường Sài Gòn,TP HCM\n26734,Phường Tân Định,TP HCM\n"
	_, err := caunoi.ParseCommunesCSV(strings.NewReader(in))
	if err == nil || !strings.Contains(err.Error(), "line 3: ") || !strings.Contains(err.Error(), "dòng 2") {
		t.Errorf("err = %v, want line 3 naming line 2", err)
	}
}

// TestNFC compares the package's composition with golang.org/x/text on
// every Vietnamese letter, decomposed and with its marks in both orders.
func TestNFC(t *testing.T) {
	letters := "aăâeêioôơuưyAĂÂEÊIOÔƠUƯYđĐ"
	tones := []string{"", "\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
	for _, l := range letters {
		for _, tone := range tones {
			want := norm.NFC.String(string(l) + tone)
			d := norm.NFD.String(want)
			if got := caunoi.NFC(d); got != want {
				t.Errorf("NFC(%+q) = %+q, want %+q", d, got, want)
			}
			// Marks in non-canonical order: tone first, then the vowel mark.
			rs := []rune(d)
			if len(rs) == 3 {
				swapped := string([]rune{rs[0], rs[2], rs[1]})
				if got := caunoi.NFC(swapped); got != norm.NFC.String(swapped) {
					t.Errorf("NFC(%+q) = %+q, want %+q", swapped, got, norm.NFC.String(swapped))
				}
			}
		}
	}
	for _, s := range []string{"", "Hà Nội", "\u0301a", "a\u0301\u0301", "日本", "e\u0323\u0302t"} {
		if got, want := caunoi.NFC(s), norm.NFC.String(s); got != want {
			t.Errorf("NFC(%+q) = %+q, want %+q", s, got, want)
		}
	}
}

func TestSampleRegistry(t *testing.T) {
	f, err := os.Open("examples/communes-sample.csv")
	if err != nil {
		t.Fatalf("open sample: %v", err)
	}
	defer f.Close()
	cs, err := caunoi.ParseCommunesCSV(f)
	if err != nil {
		t.Fatalf("sample registry: %v", err)
	}
	// Lai Châu after the 2025 arrangement: 36 communes and 2 wards.
	if len(cs) != 38 {
		t.Errorf("sample registry has %d units, want 38", len(cs))
	}
}

func TestParseCommunesCSVComments(t *testing.T) {
	in := "\uFEFF# ghi chú đầu tệp\ncode,name,province\n# ghi chú giữa tệp\n00001,Xã A,Tỉnh B\n,Xã C,Tỉnh B\n"
	_, err := caunoi.ParseCommunesCSV(strings.NewReader(in))
	if err == nil || err.Error() != "line 5: thiếu mã xã (code is empty)" {
		t.Errorf("err = %v, want one error on line 5", err)
	}
}

// BenchmarkParseCommunesCSV parses a national-size registry: 3,321 rows,
// half of them typed with combining marks.
func BenchmarkParseCommunesCSV(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("code,name,province,former\n")
	for i := range 3321 {
		name := "Phường Nguyễn Trãi Đông"
		if i%2 == 0 {
			name = norm.NFD.String(name)
		}
		fmt.Fprintf(&sb, "%05d,%s %d,Tỉnh Lai Châu,Xã Một;Xã Hai;Thị trấn Ba\n", i, name, i)
	}
	in := sb.String()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := caunoi.ParseCommunesCSV(strings.NewReader(in)); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzParseCommunesCSV checks that no input makes the parser panic, and that
// it returns either communes or errors, never both or neither.
func FuzzParseCommunesCSV(f *testing.F) {
	f.Add("code,name,province,former\n00001,Xã A,Tỉnh B,Xã C;Xã D\n")
	f.Add("\uFEFF# ghi chú\ncode,name,province\n00001,\"Xã \"\"A\"\"\",Tỉnh B\n")
	f.Add("code,name,province,former\n00001,\"Xã A,Tỉnh B,\n")
	f.Add("code,code\n")
	f.Add("name,province,code\n,,\n\n\"")
	f.Fuzz(func(t *testing.T, in string) {
		cs, err := caunoi.ParseCommunesCSV(strings.NewReader(in))
		if (err == nil) == (len(cs) == 0) {
			t.Fatalf("got %d communes and error %v", len(cs), err)
		}
		if err != nil && !errors.Is(err, caunoi.ErrInvalid) {
			t.Fatalf("error %v does not wrap ErrInvalid", err)
		}
		for _, c := range cs {
			if c.Code == "" || c.Name == "" || c.Province == "" || c.Name != caunoi.NFC(c.Name) {
				t.Fatalf("accepted %+v", c)
			}
		}
	})
}

// FuzzNFC compares NFC with golang.org/x/text on strings built from
// Vietnamese letters, ASCII and the combining marks that Vietnamese uses,
// in any order and number.
func FuzzNFC(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3})
	f.Add([]byte{5, 40, 41, 7, 42, 43, 44})
	alphabet := []rune("aăâeêioôơuưyAĂÂEÊIOÔƠUƯYđĐbcnt ,\u0300\u0301\u0302\u0303\u0306\u0309\u031B\u0323")
	f.Fuzz(func(t *testing.T, b []byte) {
		// x/text breaks runs of more than 30 marks with U+034F (the
		// stream-safe format); stay below that.
		if len(b) > 30 {
			b = b[:30]
		}
		rs := make([]rune, len(b))
		for i, c := range b {
			rs[i] = alphabet[int(c)%len(alphabet)]
		}
		s := string(rs)
		if got, want := caunoi.NFC(s), norm.NFC.String(s); got != want {
			t.Fatalf("NFC(%+q) = %+q, want %+q", s, got, want)
		}
	})
}
