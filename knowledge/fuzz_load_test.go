package knowledge_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/caunoi/caunoi/knowledge"
)

// FuzzLoad loads a handbook whose one entry is the fuzzed file. Load must
// not panic, every problem must name a file and a line ≥ 1, and a handbook
// comes back exactly when there are no errors.
func FuzzLoad(f *testing.F) {
	f.Add("---\ntitle: Đăng ký khai sinh\ndepartment: tu-phap\nupdated: 2025-07-01\nreview_by: 2026-07-01\n---\nLời dẫn.\n\n## Hồ sơ\n\n- Tờ khai\n- Giấy chứng sinh\n")
	f.Add("---\ntitle: [\n---\n")
	f.Add("---\n---\n## \n##\n### x\n")
	f.Add("no front matter")
	f.Add("---\ntitle: a\ndepartment: b\n")
	f.Add("---\nquestions: {a: b}\nlegal_basis: [1, 2.5, true, null]\nupdated: 2025-02-30\n---\n| a | b |\n|---|---|\n| 1 |\n")
	f.Add("---\r\ntitle: \"\\u00e0\"\r\ndepartment: tu-phap\r\n...\r\n> trích *dẫn* `mã`\r\n")
	f.Add("---\nid: &x a\ntitle: *x\ndepartment: !!str tu-phap\n---\n1. một\n   - hai\n\n```\nmã\n```\n")
	f.Fuzz(func(t *testing.T, entry string) {
		fsys := fstest.MapFS{
			"departments.yaml": {Data: []byte("- code: tu-phap\n  prefix: TP\n  name: Sở Tư pháp\n")},
			"glossary.yaml":    {Data: []byte("- term: CCCD\n  means: [căn cước công dân]\n")},
			"ho-tich/a.md":     {Data: []byte(entry)},
		}
		h, ps := knowledge.Load(fsys, testNow)
		for _, p := range ps {
			if p.Line < 1 || p.File == "" || p.Message == "" {
				t.Errorf("problem without a position or message: %#v", p)
			}
			if !strings.HasPrefix(p.String(), p.File+":") {
				t.Errorf("problem string %q does not start with the file", p.String())
			}
		}
		if (h == nil) != (len(ps.Errors()) > 0) {
			t.Errorf("handbook nil = %v with problems %v", h == nil, ps)
		}
		if h != nil {
			for _, p := range h.Passages {
				if p.Line < 1 || p.Text == "" || p.ID != p.EntryID+"#"+p.Anchor {
					t.Errorf("bad passage %#v", p)
				}
			}
		}
	})
}
