package caunoi_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/caunoi/caunoi"
)

// TestSchemaError checks which schemas count as newer, that every
// SchemaError matches ErrSchema through wrapping, and what each says.
func TestSchemaError(t *testing.T) {
	for _, tt := range []struct {
		found string
		newer bool
		says  string
	}{
		{"3", true, "a newer version has upgraded the store"},
		{"10", true, "version 10"},
		{"2", false, "knows no other"},
		{"1", false, `holds "1"`},
		{"hai", false, `holds "hai"`},
		{"", false, `holds ""`},
	} {
		e := &caunoi.SchemaError{Found: tt.found, Want: 2}
		if e.Newer() != tt.newer {
			t.Errorf("SchemaError{%q, 2}.Newer() = %v, want %v", tt.found, e.Newer(), tt.newer)
		}
		if !strings.Contains(e.Error(), tt.says) {
			t.Errorf("SchemaError{%q, 2} says %q, want %q in it", tt.found, e.Error(), tt.says)
		}
		wrapped := fmt.Errorf("open store: %w", e)
		if !errors.Is(wrapped, caunoi.ErrSchema) || errors.Is(wrapped, caunoi.ErrConflict) {
			t.Errorf("errors.Is on a wrapped SchemaError{%q, 2}: want ErrSchema and nothing else", tt.found)
		}
	}
}
