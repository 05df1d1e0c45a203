package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/bot/telegramtest"
	"github.com/caunoi/caunoi/knowledge"
)

// editorsE2E is the bot wired as in production, over HTTP to the emulator,
// with a handbook directory on disk, a drafts directory, and four people:
// an official, a staff member of Sở Tư pháp, an editor, and a stranger in
// the staff group who is not registered.
type editorsE2E struct {
	t                                 *testing.T
	srv                               *telegramtest.Server
	app                               *app
	official, staff, editor, stranger telegramtest.User
	group                             int64
	handbook, drafts                  string
}

// newEditorsE2E starts the bot; handbook is the handbook directory, empty
// for the embedded one.
func newEditorsE2E(t *testing.T, handbook string) *editorsE2E {
	t.Helper()
	srv := telegramtest.New(t)
	e := &editorsE2E{t: t, srv: srv, handbook: handbook, drafts: filepath.Join(t.TempDir(), "drafts")}
	e.official = srv.AddUser(telegramtest.User{FirstName: "Lan"})
	e.staff = srv.AddUser(telegramtest.User{FirstName: "Đức"})
	e.editor = srv.AddUser(telegramtest.User{FirstName: "Hà"})
	e.stranger = srv.AddUser(telegramtest.User{FirstName: "Khách"})
	e.group = srv.AddGroup("Cán bộ Sở Tư pháp", e.staff.ID, e.stranger.ID).ID
	cfg := DefaultConfig()
	cfg.Token, cfg.APIURL = srv.Token(), srv.URL()
	cfg.Store = "bolt:" + filepath.Join(t.TempDir(), "caunoi.db")
	cfg.HandbookDir, cfg.DraftsDir = handbook, e.drafts
	cfg.Groups = map[string]int64{"tu-phap": e.group}
	cfg.SigningKey = "a-test-signing-key-0123456789"
	cfg.SendRate, cfg.ChatGap = 1000, "0s"

	a, err := openApp(context.Background(), cfg, discardLogger(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = a.bot.Run(ctx, true)
	}()
	e.app = a
	t.Cleanup(func() {
		cancel()
		<-done
		a.Close()
	})
	e.register()
	return e
}

func (e *editorsE2E) register() {
	e.t.Helper()
	ctx := context.Background()
	if err := e.app.store.ReplaceCommunes(ctx, []caunoi.Commune{{Code: "00001", Name: "Xã Thử Nghiệm"}}); err != nil {
		e.t.Fatal(err)
	}
	for _, p := range []struct {
		u   telegramtest.User
		req caunoi.InviteRequest
	}{
		{e.official, caunoi.InviteRequest{Role: caunoi.RoleOfficial, Commune: "00001"}},
		{e.staff, caunoi.InviteRequest{Role: caunoi.RoleStaff, Department: "tu-phap"}},
		{e.editor, caunoi.InviteRequest{Role: caunoi.RoleEditor}},
	} {
		inv, err := e.app.desk.CreateInvite(ctx, caunoi.Operator, p.req)
		if err != nil {
			e.t.Fatal(err)
		}
		e.say(p.u, "/start "+inv.Code, "Đăng ký thành công")
	}
}

// wait returns the first bot message in chat after the first skip ones
// that contains want, waiting for it to arrive.
func (e *editorsE2E) wait(chat int64, skip int, want string) telegramtest.Message {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var found telegramtest.Message
	err := e.srv.WaitFor(ctx, func() bool {
		msgs := e.srv.Messages(chat)
		for i := skip; i < len(msgs); i++ {
			if m := msgs[i]; m.From != nil && m.From.IsBot && strings.Contains(m.Text, want) {
				found = m
				return true
			}
		}
		return false
	})
	if err != nil {
		var texts []string
		for _, m := range e.srv.Messages(chat) {
			texts = append(texts, m.Text)
		}
		for _, r := range e.srv.Requests() {
			if r.Status != 200 {
				e.t.Logf("request %s chat %d status %d", r.Method, r.ChatID, r.Status)
			}
		}
		e.t.Fatalf("no message with %q in chat %d; messages:\n%s", want, chat, strings.Join(texts, "\n---\n"))
	}
	return found
}

// idle waits until every update was handled and every message sent, so
// that the bot has recorded which ticket each sent message belongs to.
func (e *editorsE2E) idle() {
	e.t.Helper()
	waitIdle(e.t, e.srv, e.app.store, inAMinute)
}

// say sends text in u's private chat and waits for the reply holding want.
func (e *editorsE2E) say(u telegramtest.User, text, want string) telegramtest.Message {
	e.t.Helper()
	skip := len(e.srv.Messages(u.ID))
	if _, err := e.srv.SendText(u.ID, u.ID, text); err != nil {
		e.t.Fatal(err)
	}
	return e.wait(u.ID, skip, want)
}

// press presses the button labelled label on message m of chat, as from.
func (e *editorsE2E) press(from, chat int64, m telegramtest.Message, label string) {
	e.t.Helper()
	if m.ReplyMarkup != nil {
		for _, row := range m.ReplyMarkup.InlineKeyboard {
			for _, b := range row {
				if strings.Contains(b.Text, label) {
					if _, err := e.srv.PressButton(from, chat, m.MessageID, b.CallbackData); err != nil {
						e.t.Fatal(err)
					}
					return
				}
			}
		}
	}
	e.t.Fatalf("message %d in chat %d has no button %q: %q", m.MessageID, chat, label, m.Text)
}

// callbackAnswer waits for the answer to a button press by user.
func (e *editorsE2E) callbackAnswer(user int64) telegramtest.CallbackAnswer {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var found telegramtest.CallbackAnswer
	err := e.srv.WaitFor(ctx, func() bool {
		for _, a := range e.srv.CallbackAnswers() {
			if a.Query.From.ID == user {
				found = a
				return true
			}
		}
		return false
	})
	if err != nil {
		e.t.Fatalf("no button press of user %d answered", user)
	}
	return found
}

func draftFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// TestEditorsReload: only editors may reload; a broken file keeps the old
// handbook serving and the editor reads file:line; /khoangtrong shows what
// the handbook missed.
func TestEditorsReload(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, testHandbook)
	e := newEditorsE2E(t, dir)
	old := e.app.index.Version()

	e.say(e.official, "/reload", "Chỉ biên tập viên")
	e.say(e.editor, "/reload", "Đã nạp lại sổ tay: phiên bản "+old)

	writeFiles(t, dir, map[string]string{"ho-tich/ket-hon.md": brokenEntry})
	m := e.say(e.editor, "/reload", "ho-tich/ket-hon.md:1:")
	if !strings.Contains(m.Text, "vẫn trả lời bằng phiên bản "+old) {
		t.Errorf("the editor is not told the old version keeps serving:\n%s", m.Text)
	}
	if v := e.app.index.Version(); v != old {
		t.Errorf("a broken handbook replaced version %s by %s", old, v)
	}
	e.say(e.official, "đăng ký kết hôn ở xã cần giấy tờ gì", "Đăng ký kết hôn")

	e.say(e.official, "máy phát điện của trụ sở xã bị hỏng thì báo ai", "Sổ tay")
	e.say(e.official, "/khoangtrong", "Chỉ biên tập viên")
	m = e.say(e.editor, "/khoangtrong", "Khoảng trống của sổ tay")
	if !strings.Contains(m.Text, "máy phát điện của trụ sở xã bị hỏng thì báo ai") {
		t.Errorf("gap report lacks the unanswered question:\n%s", m.Text)
	}
	e.say(e.editor, "/khoangtrong mai", "Cách dùng: /khoangtrong")

	writeFiles(t, dir, map[string]string{"ho-tich/ket-hon.md": testHandbook["ho-tich/ket-hon.md"] + "\n## Lệ phí\n\nMiễn lệ phí.\n"})
	e.say(e.editor, "/reload", "Đã nạp lại sổ tay")
	if e.app.index.Version() == old {
		t.Errorf("the fixed handbook was not loaded")
	}
}

// TestEditorsReloadEmbedded: with the embedded handbook there is nothing on
// disk to reload.
func TestEditorsReloadEmbedded(t *testing.T) {
	e := newEditorsE2E(t, "")
	e.say(e.editor, "/reload", "không có gì để nạp lại")
}

// TestEditorsDraft resolves a ticket: the staff group and the editor are
// offered a draft, a stranger's press is refused, the staff member's press
// writes a draft that the handbook accepts, and the editor is told.
func TestEditorsDraft(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, testHandbook)
	e := newEditorsE2E(t, dir)

	m := e.say(e.official, "trẻ sinh ở nước ngoài, giấy chứng sinh chưa hợp pháp hóa thì khai sinh thế nào", "Sổ tay")
	skip := len(e.srv.Messages(e.official.ID))
	e.press(e.official.ID, e.official.ID, m, "Hỏi cán bộ Sở")
	m = e.wait(e.official.ID, skip, "Gửi câu hỏi tới")
	e.press(e.official.ID, e.official.ID, m, "Gửi câu hỏi")
	card := e.wait(e.group, 0, "Phiếu TP-")
	e.idle()
	number := strings.Fields(strings.TrimPrefix(card.Text, "🆕 Phiếu "))[0]

	skip = len(e.srv.Messages(e.official.ID))
	if _, err := e.srv.Reply(e.staff.ID, e.group, card.MessageID, "Cần giấy chứng sinh đã hợp pháp hóa lãnh sự và bản dịch có chứng thực."); err != nil {
		t.Fatal(err)
	}
	e.wait(e.official.ID, skip, "hợp pháp hóa lãnh sự")
	gskip, eskip := len(e.srv.Messages(e.group)), len(e.srv.Messages(e.editor.ID))
	e.press(e.staff.ID, e.group, card, "Đã giải quyết")
	offer := e.wait(e.group, gskip, "📝 Phiếu "+number+" đã được giải quyết")
	e.wait(e.editor.ID, eskip, "📝 Phiếu "+number+" đã được giải quyết")
	e.idle()

	// Someone in the group without a role may not write to the handbook.
	e.press(e.stranger.ID, e.group, offer, "Thêm vào sổ tay")
	if a := e.callbackAnswer(e.stranger.ID); !strings.Contains(a.Text, "không có quyền") {
		t.Errorf("stranger's press answered %q, want a refusal", a.Text)
	}
	if files := draftFiles(t, e.drafts); len(files) != 0 {
		t.Fatalf("a refused press wrote %v", files)
	}

	eskip = len(e.srv.Messages(e.editor.ID))
	e.press(e.staff.ID, e.group, offer, "Thêm vào sổ tay")
	made := e.wait(e.group, gskip, "Đã tạo bản nháp sổ tay")
	files := draftFiles(t, e.drafts)
	if len(files) != 1 || !strings.HasPrefix(files[0], strings.ToLower(number)+"-tre-sinh-o-nuoc-ngoai") || !strings.HasSuffix(files[0], ".md") {
		t.Fatalf("draft files %v", files)
	}
	if !strings.Contains(made.Text, files[0]) {
		t.Errorf("the group is not told the file name %s: %q", files[0], made.Text)
	}
	e.wait(e.editor.ID, eskip, "Bản nháp sổ tay mới: "+files[0])

	// Moved into the handbook, the draft passes the checks.
	md, err := os.ReadFile(filepath.Join(e.drafts, files[0]))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"source: \"" + number + "\"", "department: \"tu-phap\"", "## Hướng dẫn của Sở Tư pháp", "hợp pháp hóa lãnh sự và bản dịch"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("draft lacks %q:\n%s", want, md)
		}
	}
	writeFiles(t, dir, map[string]string{"ho-tich/" + files[0]: string(md)})
	h, probs := knowledge.Load(os.DirFS(dir), time.Now())
	if len(probs.Errors()) > 0 || h == nil {
		t.Fatalf("the handbook refuses the draft: %v", probs)
	}
	if _, ok := h.Entry("drafts/" + strings.TrimSuffix(files[0], ".md")); !ok {
		t.Errorf("no entry drafts/%s", strings.TrimSuffix(files[0], ".md"))
	}

	// The official confirms: the group's notice offers the draft again, the
	// editor is not offered twice, and a second press writes nothing new.
	gskip = len(e.srv.Messages(e.group))
	resolved := e.wait(e.official.ID, 0, "báo đã giải quyết")
	e.idle()
	e.press(e.official.ID, e.official.ID, resolved, "Đã giải quyết")
	confirmed := e.wait(e.group, gskip, "xác nhận đã giải quyết")
	e.idle()
	e.press(e.staff.ID, e.group, confirmed, "Thêm vào sổ tay")
	e.wait(e.group, gskip, "đã có bản nháp sổ tay: "+files[0])
	if again := draftFiles(t, e.drafts); len(again) != 1 {
		t.Errorf("second press: files %v", again)
	}
	offers := 0
	for _, m := range e.srv.Messages(e.editor.ID) {
		if strings.Contains(m.Text, "đã được giải quyết") {
			offers++
		}
	}
	if offers != 1 {
		t.Errorf("editor offered the draft %d times, want once", offers)
	}
}
