package knowledge

import (
	"fmt"
	"sort"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"golang.org/x/text/unicode/norm"
)

// GlossaryEntry is one abbreviation or synonym from glossary.yaml: Term
// means each of Means. Both may be several syllables.
type GlossaryEntry struct {
	Term  string
	Means []string
	Note  string
	// File and Line locate the entry in the source.
	File string
	Line int
}

// Glossary is the handbook's list of abbreviations and synonyms.
type Glossary []GlossaryEntry

// GlossaryKey normalises a glossary term or meaning for matching: NFC,
// lower case, inner white space collapsed to one space, trimmed. The keys of
// Expansions are in this form.
func GlossaryKey(s string) string {
	return strings.Join(strings.Fields(strings.ToLower(norm.NFC.String(s))), " ")
}

// Expansions returns the glossary's equivalence map for query expansion:
// for each normalised (GlossaryKey) term or meaning, the other forms it
// expands to, in both directions and transitively closed, sorted. A form
// never lists itself. The map is new on each call; callers may keep it.
func (g Glossary) Expansions() map[string][]string {
	parent := map[string]string{}
	var find func(string) string
	find = func(k string) string {
		p, ok := parent[k]
		if !ok {
			parent[k] = k
			return k
		}
		if p == k {
			return k
		}
		root := find(p)
		parent[k] = root
		return root
	}
	union := func(a, b string) {
		ra, rb := find(a), find(b)
		if ra != rb {
			parent[ra] = rb
		}
	}
	for _, e := range g {
		t := GlossaryKey(e.Term)
		if t == "" {
			continue
		}
		find(t)
		for _, m := range e.Means {
			if k := GlossaryKey(m); k != "" {
				union(t, k)
			}
		}
	}
	classes := map[string][]string{}
	for k := range parent {
		r := find(k)
		classes[r] = append(classes[r], k)
	}
	out := make(map[string][]string, len(parent))
	for _, members := range classes {
		if len(members) < 2 {
			continue
		}
		sort.Strings(members)
		for _, k := range members {
			others := make([]string, 0, len(members)-1)
			for _, o := range members {
				if o != k {
					others = append(others, o)
				}
			}
			out[k] = others
		}
	}
	return out
}

var glossaryKeys = []string{"term", "means", "note"}

// parseGlossary parses glossary.yaml and reports empty and duplicate terms
// and loops.
func (l *handbookLoader) parseGlossary(src []byte) Glossary {
	const file = GlossaryFile
	body, ok := l.parseYAML(file, src, 1)
	if !ok || body == nil {
		return nil
	}
	if _, isNull := body.(*ast.NullNode); isNull {
		return nil
	}
	seq, isSeq := body.(*ast.SequenceNode)
	if !isSeq {
		l.errorf(file, yamlNodeLine(body, 0), "%s phải là danh sách, mỗi mục có term và means", file)
		return nil
	}
	var g Glossary
	terms := map[string]int{}
	edges := map[string][]string{}
	for _, item := range seq.Values {
		e := GlossaryEntry{File: file, Line: yamlNodeLine(item, 0)}
		fields, ok := l.yamlMappingFields(file, item, 0, "mỗi mục của "+file)
		if !ok {
			continue
		}
		seen := map[string]bool{}
		hasTerm, hasMeans := false, false
		for _, f := range fields {
			if seen[f.key] {
				l.errorf(file, f.line, "khóa %q bị lặp", f.key)
				continue
			}
			seen[f.key] = true
			switch f.key {
			case "term":
				hasTerm = true
				e.Term = l.yamlString(file, f)
			case "means":
				hasMeans = true
				e.Means = l.yamlStrings(file, f)
			case "note":
				e.Note = l.yamlString(file, f)
			default:
				l.errorf(file, f.line, "khóa %q không được dùng (các khóa hợp lệ: %s)", f.key, strings.Join(glossaryKeys, ", "))
			}
		}
		term := GlossaryKey(e.Term)
		switch {
		case term == "" && hasTerm:
			l.errorf(file, e.Line, "\"term\" đang trống")
			continue
		case term == "":
			l.errorf(file, e.Line, "thiếu \"term\"")
			continue
		case len(e.Means) == 0 && hasMeans:
			l.errorf(file, e.Line, "%q: \"means\" đang trống", e.Term)
			continue
		case len(e.Means) == 0:
			l.errorf(file, e.Line, "%q: thiếu \"means\"", e.Term)
			continue
		}
		if prev, dup := terms[term]; dup {
			l.errorf(file, e.Line, "term %q trùng với mục ở dòng %d", e.Term, prev)
			continue
		}
		terms[term] = e.Line
		for _, m := range e.Means {
			mk := GlossaryKey(m)
			if mk == "" {
				continue
			}
			if path := glossaryPath(edges, mk, term); path != nil {
				l.errorf(file, e.Line, "thuật ngữ lặp vòng: %s", strings.Join(append([]string{term}, path...), " → "))
				break
			}
			edges[term] = append(edges[term], mk)
		}
		g = append(g, e)
	}
	return g
}

// glossaryPath returns the keys on a path from "from" to "to" along edges,
// both ends included, or nil when there is none.
func glossaryPath(edges map[string][]string, from, to string) []string {
	if from == to {
		return []string{to}
	}
	prev := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		k := queue[0]
		queue = queue[1:]
		for _, next := range edges[k] {
			if _, seen := prev[next]; seen {
				continue
			}
			prev[next] = k
			if next == to {
				var path []string
				for at := next; at != ""; at = prev[at] {
					path = append(path, at)
				}
				for i, j := 0, len(path)-1; i < j; i, j = i+1, j-1 {
					path[i], path[j] = path[j], path[i]
				}
				return path
			}
			queue = append(queue, next)
		}
	}
	return nil
}

// String formats the entry as "term: means1; means2".
func (e GlossaryEntry) String() string {
	return fmt.Sprintf("%s: %s", e.Term, strings.Join(e.Means, "; "))
}
