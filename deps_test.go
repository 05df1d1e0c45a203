package caunoi_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencyDirection keeps the package layout honest: the domain uses
// only the standard library, and adapters never import each other.
func TestDependencyDirection(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go command not found")
	}
	const mod = "github.com/caunoi/caunoi"
	deps := func(pkg string) []string {
		t.Helper()
		out, err := exec.Command("go", "list", "-e", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		return strings.Fields(string(out))
	}

	for _, d := range deps(mod) {
		if d != mod {
			t.Errorf("root package imports %s; the domain may use only the standard library", d)
		}
	}

	adapters := []string{"knowledge", "store/boltstore", "store/redisstore", "bot"}
	for _, a := range adapters {
		out, err := exec.Command("go", "list", "-e", mod+"/"+a).CombinedOutput()
		if err != nil || strings.Contains(string(out), "no Go files") {
			continue // not written yet in this checkout
		}
		for _, d := range deps(mod + "/" + a) {
			for _, other := range adapters {
				if other != a && (d == mod+"/"+other || strings.HasPrefix(d, mod+"/"+other+"/")) && !strings.HasPrefix(d, mod+"/"+a+"/") {
					t.Errorf("%s imports %s; adapters must not import each other", a, d)
				}
			}
		}
	}
}
