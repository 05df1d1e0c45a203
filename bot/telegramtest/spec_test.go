package telegramtest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
)

func TestEveryMethodHasSpecAndHandler(t *testing.T) {
	s := &Server{}
	handlers := s.handlers()
	for name, spec := range methodSpecs {
		if handlers[spec.Name] == nil {
			t.Errorf("method %s (%s) is in methods_gen.go but has no handler", spec.Name, name)
		}
	}
	for name := range handlers {
		found := false
		for _, spec := range methodSpecs {
			found = found || spec.Name == name
		}
		if !found {
			t.Errorf("handler %s has no entry in methods_gen.go; add it to the go:generate line", name)
		}
	}
}

// TestGeneratedTableIsCurrent regenerates methods_gen.go from the Bot API
// specification in ../shared and compares. It is skipped where the
// specification is not checked out.
func TestGeneratedTableIsCurrent(t *testing.T) {
	spec := filepath.Join("..", "..", "..", "shared", "botapi", "api.min.json")
	if _, err := os.Stat(spec); err != nil {
		t.Skipf("Bot API specification not available: %v", err)
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("go tool not found: %v", err)
	}
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`-methods (\S+)`).FindSubmatch(doc)
	if m == nil {
		t.Fatal("doc.go has no go:generate line with -methods")
	}
	out := filepath.Join(t.TempDir(), "methods_gen.go")
	cmd := exec.Command(goTool, "run", "./internal/gen", "-spec", spec, "-out", out, "-methods", string(m[1]))
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("generator: %v\n%s", err, b)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("methods_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("methods_gen.go is out of date with the Bot API specification; run go generate ./bot/telegramtest")
	}
}
