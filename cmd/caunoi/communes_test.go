package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caunoi/caunoi"
)

const samplePath = "../../examples/communes-sample.csv"

func TestCommunesImport(t *testing.T) {
	url := tempStoreURL(t)
	out, errOut, err := runCLI(t, "communes", "import", samplePath, "--store", url)
	if err != nil {
		t.Fatalf("import: %v; stderr %s", err, errOut)
	}
	if !strings.Contains(out, "Đã nhập 38 xã, phường thuộc 1 tỉnh") {
		t.Errorf("import output = %q", out)
	}
	out, _, err = runCLI(t, "communes", "list", "--store", url)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "Phường Tân Phong") || !strings.Contains(out, "Cộng: 38") {
		t.Errorf("list output lacks the sample:\n%s", out)
	}

	// A file with bad rows imports nothing and names every bad line.
	bad := filepath.Join(t.TempDir(), "xa.csv")
	content := "code,name,province,former\n00001,Xã Một,Tỉnh Lai Châu,\n,Xã Hai,Tỉnh Lai Châu,\n00001,Xã Ba,Tỉnh Lai Châu,\n"
	if err := os.WriteFile(bad, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errOut, err = runCLI(t, "communes", "import", bad, "--store", url)
	if exitCode(err) != 1 {
		t.Fatalf("bad import: err = %v, want exit 1", err)
	}
	for _, want := range []string{bad + ":3: thiếu mã xã", bad + ":4: mã \"00001\" trùng với dòng 2"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if !strings.Contains(err.Error(), "không nhập gì") {
		t.Errorf("error = %v", err)
	}
	withStore(t, url, func(s caunoi.Store) {
		cs, err := s.Communes(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) != 38 {
			t.Errorf("after a refused import the registry has %d communes, want the 38 from before", len(cs))
		}
	})
}

func TestCommunesBadInput(t *testing.T) {
	url := tempStoreURL(t)
	tests := []struct {
		name string
		args []string
		want string
		code int
	}{
		{"no subcommand", []string{"communes"}, "thiếu lệnh", 2},
		{"unknown subcommand", []string{"communes", "export"}, "không có lệnh", 2},
		{"import without file", []string{"communes", "import"}, "đúng một tệp", 2},
		{"import two files", []string{"communes", "import", "a.csv", "b.csv"}, "đúng một tệp", 2},
		{"missing file", []string{"communes", "import", filepath.Join(t.TempDir(), "khong-co.csv")}, "không có tệp", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errOut, err := runCLI(t, append(tt.args, "--store", url)...)
			if exitCode(err) != tt.code {
				t.Fatalf("err = %v (exit %d), want exit %d", err, exitCode(err), tt.code)
			}
			msg := errOut
			if !errors.Is(err, errUsage) {
				msg = err.Error()
			}
			if !strings.Contains(msg, tt.want) {
				t.Errorf("message %q lacks %q", msg, tt.want)
			}
		})
	}
	out, _, err := runCLI(t, "communes", "list", "--store", url)
	if err != nil || !strings.Contains(out, "Danh mục trống") {
		t.Errorf("empty registry: err %v, output %q", err, out)
	}
}
