package knowledge

import (
	"fmt"
	"sort"
	"strings"

	"github.com/caunoi/caunoi"
)

// Problem is one finding of Load about the handbook source: an error that
// keeps the handbook from loading, or a warning that does not.
type Problem struct {
	// File is the path relative to the handbook root, slash-separated.
	File string
	// Line is 1-based; problems about a whole file point at line 1.
	Line    int
	Warning bool
	// Message says what is wrong, in Vietnamese, for the editor.
	Message string
}

// String formats the problem as "file:line: message", with "cảnh báo: "
// before the message of a warning.
func (p Problem) String() string {
	if p.Warning {
		return fmt.Sprintf("%s:%d: cảnh báo: %s", p.File, p.Line, p.Message)
	}
	return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Message)
}

// Problems is a list of findings, as Load returns it: sorted by file, then
// line.
type Problems []Problem

// Errors returns only the errors, in order.
func (ps Problems) Errors() Problems {
	var out Problems
	for _, p := range ps {
		if !p.Warning {
			out = append(out, p)
		}
	}
	return out
}

// Warnings returns only the warnings, in order.
func (ps Problems) Warnings() Problems {
	var out Problems
	for _, p := range ps {
		if p.Warning {
			out = append(out, p)
		}
	}
	return out
}

// Err returns nil when ps holds no errors (warnings are allowed). Otherwise
// it returns an error whose message lists the errors, one per line; the
// error matches caunoi.ErrInvalid with errors.Is.
func (ps Problems) Err() error {
	errs := ps.Errors()
	if len(errs) == 0 {
		return nil
	}
	return &problemsError{errs: errs}
}

// sortProblems orders problems by file, then line, keeping the order in
// which they were found for equal positions.
func sortProblems(ps Problems) {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].File != ps[j].File {
			return ps[i].File < ps[j].File
		}
		return ps[i].Line < ps[j].Line
	})
}

type problemsError struct{ errs Problems }

func (e *problemsError) Error() string {
	lines := make([]string, len(e.errs))
	for i, p := range e.errs {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

func (e *problemsError) Unwrap() error { return caunoi.ErrInvalid }
