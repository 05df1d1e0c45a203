package bot

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-telegram/bot/models"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/bot/telegramtest"
)

// recordingEditorial is an Editorial that remembers the drafts asked of it.
type recordingEditorial struct {
	mu     sync.Mutex
	drafts []caunoi.DraftSource
}

func (e *recordingEditorial) Reload(context.Context) (ReloadReport, error) {
	return ReloadReport{}, ErrNoHandbookDir
}

func (e *recordingEditorial) Gaps([]caunoi.QuestionRecord, int) []caunoi.KnowledgeGap { return nil }

func (e *recordingEditorial) WriteDraft(_ context.Context, src caunoi.DraftSource) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.drafts = append(e.drafts, src)
	return strings.ToLower(src.Ticket.Number) + ".md", nil
}

func (e *recordingEditorial) written() []caunoi.DraftSource {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]caunoi.DraftSource(nil), e.drafts...)
}

const (
	edOfficial caunoi.UserID = 101
	edStaff    caunoi.UserID = 201
	edEditor   caunoi.UserID = 301
	edGroup    int64         = -1001
)

// MustOpenEditorBot returns a bot on a real bbolt store and the emulator,
// not running: tests call handle directly. The store holds an official, a
// staff member of tu-phap, an editor, and one resolved ticket.
func MustOpenEditorBot(t *testing.T) (*Bot, *recordingEditorial, string) {
	t.Helper()
	srv := telegramtest.New(t)
	st := MustOpenStore(t)
	ctx := context.Background()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	desk := &caunoi.Desk{Store: st, Now: func() time.Time { return now },
		Departments: []caunoi.Department{{Code: "tu-phap", Prefix: "TP", Name: "Sở Tư pháp"}}}
	for _, o := range []caunoi.Official{
		{ID: edOfficial, Name: "Lan", Commune: "00001", Roles: []caunoi.Role{caunoi.RoleOfficial}},
		{ID: edStaff, Name: "Đức", Department: "tu-phap", Roles: []caunoi.Role{caunoi.RoleStaff}},
		{ID: edEditor, Name: "Hà", Roles: []caunoi.Role{caunoi.RoleEditor}},
	} {
		if err := st.PutOfficial(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	out, err := desk.Escalate(ctx, edOfficial, caunoi.EscalateRequest{Text: "khai sinh quá hạn cho trẻ ở với ông bà", Department: "tu-phap"})
	if err != nil {
		t.Fatal(err)
	}
	number := out.Ticket.Number
	if _, err := desk.Reply(ctx, edStaff, number, "", caunoi.Note{Text: "Ông bà nộp tờ khai và giấy chứng sinh."}); err != nil {
		t.Fatal(err)
	}
	if _, err := desk.Resolve(ctx, edStaff, number, "", caunoi.Note{}); err != nil {
		t.Fatal(err)
	}
	ed := &recordingEditorial{}
	b, err := New(ctx, Config{
		Token: srv.Token(), ServerURL: srv.URL(), Desk: desk, Store: st, Handbook: noHandbook{},
		Groups: map[string]int64{"tu-phap": edGroup}, SigningKey: []byte("editor-test-signing-key"),
		Logger: testLogger(t), Now: func() time.Time { return now }, Editorial: ed,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b, ed, number
}

type noHandbook struct{}

func (noHandbook) Passage(id string) (caunoi.Passage, error) {
	return caunoi.Passage{}, caunoi.ErrNotFound
}

// pressData builds the update of a button press with data in chat.
func pressData(id int64, from caunoi.UserID, chat int64, data string) *models.Update {
	typ := models.ChatTypePrivate
	if chat < 0 {
		typ = models.ChatTypeSupergroup
	}
	return &models.Update{ID: id, CallbackQuery: &models.CallbackQuery{
		ID: "cb", From: models.User{ID: int64(from), FirstName: "x"}, Data: data,
		Message: models.MaybeInaccessibleMessage{Message: &models.Message{ID: 7, Chat: models.Chat{ID: chat, Type: typ}}},
	}}
}

// queued returns the texts waiting in the outbox for chat.
func queued(t *testing.T, b *Bot, chat int64) []string {
	t.Helper()
	due, err := b.store.Due(context.Background(), time.Now().Add(time.Hour), 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range due {
		if m.Chat != chat {
			continue
		}
		var o outgoing
		if err := json.Unmarshal(m.Payload, &o); err != nil {
			t.Fatal(err)
		}
		out = append(out, o.Text)
	}
	return out
}

// TestDraftButtonForged presses forged buttons: an unsigned traversal and a
// signed one for a ticket that does not exist reach no draft.
func TestDraftButtonForged(t *testing.T) {
	b, ed, _ := MustOpenEditorBot(t)
	ctx := context.Background()
	chat := int64(edEditor)
	unsigned := "AREuLi8uLi9ldGMvcGFzc3dkAAAAAAAAAAA"
	signed, err := b.sign.encode(chat, callback{Action: actDraft, Arg: "../../etc/passwd"})
	if err != nil {
		t.Fatal(err)
	}
	otherChat, err := b.sign.encode(int64(edStaff), callback{Action: actDraft, Arg: "../../etc/passwd"})
	if err != nil {
		t.Fatal(err)
	}
	for i, data := range []string{unsigned, signed, otherChat, "../../etc/passwd"} {
		if err := b.handle(ctx, pressData(int64(10+i), edEditor, chat, data)); err != nil {
			t.Errorf("press %d: %v", i, err)
		}
	}
	if w := ed.written(); len(w) != 0 {
		t.Errorf("forged presses wrote drafts: %+v", w)
	}
}

// TestDraftButton: officials are refused; the department's staff write one
// draft; a second press finds it.
func TestDraftButton(t *testing.T) {
	b, ed, number := MustOpenEditorBot(t)
	ctx := context.Background()
	// press handles a press and returns the texts decided, by chat.
	press := func(id int64, from caunoi.UserID, chat int64) map[int64][]string {
		t.Helper()
		data, err := b.sign.encode(chat, callback{Action: actDraft, Arg: number})
		if err != nil {
			t.Fatal(err)
		}
		r := &reply{update: id}
		if err := b.onCallback(ctx, pressData(id, from, chat, data).CallbackQuery, r); err != nil {
			t.Fatal(err)
		}
		out := map[int64][]string{}
		for _, m := range r.msgs {
			if m.Kind == outText {
				out[m.Chat] = append(out[m.Chat], m.Text)
			}
		}
		return out
	}
	if got := press(1, edOfficial, int64(edOfficial)); len(got) != 0 {
		t.Errorf("the official's press sent %v", got)
	}
	if w := ed.written(); len(w) != 0 {
		t.Fatalf("the official wrote a draft: %+v", w)
	}
	got := press(2, edStaff, edGroup)
	w := ed.written()
	if len(w) != 1 || w[0].Ticket.Number != number || len(w[0].Answers) != 1 || w[0].Department.Name != "Sở Tư pháp" {
		t.Fatalf("drafts %+v", w)
	}
	name := strings.ToLower(number) + ".md"
	if g := got[edGroup]; len(g) != 1 || !strings.Contains(g[0], name) {
		t.Errorf("group told %q, want the file name %s", g, name)
	}
	if e := got[int64(edEditor)]; len(e) != 1 || !strings.Contains(e[0], "Bản nháp sổ tay mới: "+name) {
		t.Errorf("editor told %q", e)
	}
	got = press(3, edEditor, int64(edEditor))
	if w := ed.written(); len(w) != 1 {
		t.Errorf("second press wrote again: %d drafts", len(w))
	}
	if e := got[int64(edEditor)]; len(e) != 1 || !strings.Contains(e[0], "Phiếu "+number+" đã có bản nháp sổ tay: <code>"+name+"</code>") {
		t.Errorf("editor told %q after the second press", e)
	}
}

func TestNotifyEditors(t *testing.T) {
	b, _, _ := MustOpenEditorBot(t)
	rep := ReloadReport{Version: "abc123", Errors: []string{"ho-tich/ket-hon.md:3: thiếu \"title\"", "ho-tich/<b>.md:1: x"}}
	for i := 0; i < 2; i++ { // the same report is queued once
		if err := b.NotifyEditors(context.Background(), rep); err != nil {
			t.Fatal(err)
		}
	}
	got := queued(t, b, int64(edEditor))
	if len(got) != 1 {
		t.Fatalf("editor has %d messages, want 1: %q", len(got), got)
	}
	for _, want := range []string{"2 lỗi", "phiên bản abc123", "<code>ho-tich/ket-hon.md:3: thiếu &quot;title&quot;</code>", "ho-tich/&lt;b&gt;.md:1"} {
		if !strings.Contains(got[0], want) {
			t.Errorf("message lacks %q:\n%s", want, got[0])
		}
	}
	if other := queued(t, b, int64(edStaff)); len(other) != 0 {
		t.Errorf("staff told %q", other)
	}
}

func TestRenderReload(t *testing.T) {
	at := time.Date(2026, 3, 2, 2, 30, 0, 0, time.UTC)
	ok := renderReload(ReloadReport{Version: "v2", LoadedAt: at, Passages: 40, Warnings: []string{"a.md:2: cảnh báo: review_by đã qua"}}, false, false)
	for _, want := range []string{"phiên bản v2, 40 đoạn, lúc 09:30 02/03/2026", "1 cảnh báo", "a.md:2: cảnh báo"} {
		if !strings.Contains(ok, want) {
			t.Errorf("success lacks %q:\n%s", want, ok)
		}
	}
	var errs []string
	for i := 0; i < maxProblemLines+5; i++ {
		errs = append(errs, "x.md:1: lỗi")
	}
	bad := renderReload(ReloadReport{Version: "v1", LoadedAt: at, Errors: errs}, true, false)
	if n := strings.Count(bad, "x.md:1: lỗi"); n != maxProblemLines || !strings.Contains(bad, "và 5 dòng nữa") {
		t.Errorf("failure shows %d problem lines:\n%s", n, bad)
	}
	if !wellFormed(bad) || !wellFormed(ok) {
		t.Errorf("malformed HTML")
	}
}

func TestRenderGaps(t *testing.T) {
	gaps := []caunoi.KnowledgeGap{
		{Count: 5, Communes: []string{"a", "b"}, Low: 3, Unhelpful: 1, Escalated: 1, Example: "sổ đỏ <cháy>",
			Nearest: caunoi.Candidate{PassageID: "p", Title: "Cấp lại", Section: "Hồ sơ"}},
		{Count: 1, None: 1, Example: "máy in hỏng"},
	}
	got := renderGaps(gaps, 7, 6)
	for _, want := range []string{"7 ngày qua: 6 câu hỏi", "2 nhóm", "<b>1. 5 câu hỏi</b> · 2 xã, phường · 3 kết quả chưa chắc, 1 chưa đúng ý, 1 chuyển sở",
		"«sổ đỏ &lt;cháy&gt;»", "Mục gần nhất: Cấp lại › Hồ sơ", "1 không có kết quả", "Sổ tay chưa có mục nào gần"} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
	if !wellFormed(got) {
		t.Errorf("malformed HTML:\n%s", got)
	}
}
