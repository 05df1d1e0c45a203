package bot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-telegram/bot/models"

	"github.com/caunoi/caunoi"
)

// The editors' loop: /reload and /khoangtrong in a private chat, and the
// "Thêm vào sổ tay" button that turns a resolved ticket into a handbook
// draft.

// Editorial is what the editors' commands need beyond the desk: the
// handbook on disk and the drafts directory. Implementations are safe for
// concurrent use.
type Editorial interface {
	// Reload loads the handbook again from its directory and, when it has
	// no errors, swaps it in. When it has errors, the handbook now serving
	// stays, the report lists them, and the error matches caunoi.ErrInvalid.
	// A handbook built into the program gives ErrNoHandbookDir.
	Reload(ctx context.Context) (ReloadReport, error)
	// Gaps groups gap questions into knowledge gaps, largest first; limit
	// > 0 keeps that many.
	Gaps(records []caunoi.QuestionRecord, limit int) []caunoi.KnowledgeGap
	// WriteDraft writes a handbook draft of src as a new file in the drafts
	// directory and returns the file's name.
	WriteDraft(ctx context.Context, src caunoi.DraftSource) (string, error)
}

// ErrNoHandbookDir means the handbook is built into the program: there is
// nothing on disk to reload.
var ErrNoHandbookDir = errors.New("handbook is embedded, not read from a directory")

// ReloadReport is the outcome of one reload.
type ReloadReport struct {
	// Version and LoadedAt identify the handbook serving after the reload:
	// the new one on success, the old one on failure.
	Version  string
	LoadedAt time.Time
	Passages int
	// Errors and Warnings are the handbook's problems, "file:line: message".
	Errors   []string
	Warnings []string
}

// Texts of the editors' loop.
const (
	txtEditorsOnly     = "Chỉ biên tập viên sổ tay mới dùng được lệnh này."
	txtReloadEmbedded  = "Sổ tay đang dùng bản đóng gói sẵn trong chương trình (chưa cấu hình HANDBOOK_DIR), nên không có gì để nạp lại từ đĩa."
	txtReloadOK        = "✅ Đã nạp lại sổ tay: phiên bản %s, %d đoạn, lúc %s."
	txtReloadWarnings  = "Có %d cảnh báo (sổ tay vẫn dùng được):"
	txtReloadFailed    = "❌ Sổ tay mới có %d lỗi nên chưa được dùng; bot vẫn trả lời bằng phiên bản %s (nạp lúc %s). Sửa các lỗi sau rồi gửi /reload:"
	txtReloadWatchFail = "❌ Tệp sổ tay vừa sửa có %d lỗi nên chưa được dùng; bot vẫn trả lời bằng phiên bản %s. Sửa các lỗi sau (sổ tay tự nạp lại khi lưu tệp):"
	txtReloadBroken    = "Không nạp lại được sổ tay, bot vẫn dùng bản đang chạy. Xem nhật ký của máy chủ."
	txtMoreProblems    = "… và %d dòng nữa (chạy caunoi handbook check để xem hết)."
	txtGapsTitle       = "🧭 Khoảng trống của sổ tay, %d ngày qua: %d câu hỏi chưa được trả lời tốt, %d nhóm."
	txtGapsNone        = "Trong %d ngày qua không có câu hỏi nào mà sổ tay trả lời chưa tốt."
	txtGapsUsage       = "Cách dùng: /khoangtrong [số ngày], ví dụ /khoangtrong 30 (mặc định 7 ngày, tối đa 365)."
	txtGapsMore        = "Còn %d nhóm nhỏ hơn; xem hết bằng lệnh caunoi gaps trên máy chủ."
	txtNoEditorial     = "Chức năng biên tập chưa được cấu hình trên máy chủ này."
	txtDraftOffer      = "📝 Phiếu %s đã được giải quyết. Nếu câu trả lời hữu ích cho các xã khác, bấm nút dưới để tạo bản nháp sổ tay."
	txtDraftMade       = "📝 Đã tạo bản nháp sổ tay %s từ phiếu %s. Biên tập viên sẽ rà soát trước khi đưa vào sổ tay."
	txtDraftExists     = "Phiếu %s đã có bản nháp sổ tay: %s."
	txtDraftNew        = "📝 Bản nháp sổ tay mới: %s\nTừ phiếu %s (%s), do %s tạo. Bản nháp nằm trong thư mục bản nháp, chưa được dùng để trả lời."
	txtDraftNoAnswer   = "Phiếu chưa có câu trả lời bằng chữ nên chưa tạo được bản nháp."
	txtDraftNotSolved  = "Phiếu chưa được giải quyết nên chưa tạo được bản nháp."
	txtDraftFailed     = "Không ghi được bản nháp, đề nghị báo quản trị viên."
)

// Limits of the editors' messages.
const (
	maxProblemLines = 30
	maxGapClusters  = 10
	defaultGapDays  = 7
	maxGapDays      = 365
)

func init() {
	privateCommands["reload"] = (*Bot).onReload
	privateCommands["khoangtrong"] = (*Bot).onGaps
	actions[actDraft] = (*Bot).onDraft
	noticeHooks = append(noticeHooks, (*Bot).offerDraft)
}

// noticeHooks may change or add to the messages of one notice before they
// are stored; deliver runs them in order.
var noticeHooks []func(b *Bot, ctx context.Context, t caunoi.Ticket, n caunoi.Notice, msgs []outgoing) ([]outgoing, error)

// editorOf returns the registered person actor when they are an editor or
// an admin.
func (b *Bot) editorOf(ctx context.Context, actor caunoi.UserID) (caunoi.Official, bool, error) {
	o, err := b.store.Official(ctx, actor)
	if errors.Is(err, caunoi.ErrNotFound) {
		return caunoi.Official{}, false, nil
	}
	if err != nil {
		return caunoi.Official{}, false, &retryableError{err}
	}
	return o, o.Has(caunoi.RoleEditor) || o.Has(caunoi.RoleAdmin), nil
}

// onReload handles /reload: editors and admins reload the handbook from
// disk and read the outcome, with every problem as file:line.
func (b *Bot) onReload(ctx context.Context, m *models.Message, c command, r *reply) error {
	chat := m.Chat.ID
	_, ok, err := b.editorOf(ctx, caunoi.UserID(m.From.ID))
	if err != nil {
		return err
	}
	if !ok {
		b.log.Warn("reload refused", "chat_id", chat)
		r.text(chat, esc(txtEditorsOnly), nil)
		return nil
	}
	if b.cfg.Editorial == nil {
		r.text(chat, esc(txtReloadEmbedded), nil)
		return nil
	}
	rep, err := b.cfg.Editorial.Reload(ctx)
	switch {
	case errors.Is(err, ErrNoHandbookDir):
		r.text(chat, esc(txtReloadEmbedded), nil)
		return nil
	case err != nil && len(rep.Errors) == 0:
		b.log.Error("reload handbook", "chat_id", chat, "err", err)
		r.text(chat, esc(txtReloadBroken), nil)
		return nil
	}
	b.log.Info("handbook reload requested", "chat_id", chat, "handbook_version", rep.Version,
		"errors", len(rep.Errors), "warnings", len(rep.Warnings))
	r.text(chat, renderReload(rep, err != nil, false), nil)
	return nil
}

// renderReload is the message about a reload: success with its warnings,
// or failure with its errors. watched is true for a reload the watcher
// started.
func renderReload(rep ReloadReport, failed, watched bool) string {
	var b strings.Builder
	if failed {
		head := txtReloadFailed
		if watched {
			head = txtReloadWatchFail
		}
		if watched {
			b.WriteString(esc(fmt.Sprintf(head, len(rep.Errors), orDash(rep.Version))))
		} else {
			b.WriteString(esc(fmt.Sprintf(head, len(rep.Errors), orDash(rep.Version), fmtDateTime(rep.LoadedAt))))
		}
		writeProblems(&b, rep.Errors)
		return b.String()
	}
	b.WriteString(esc(fmt.Sprintf(txtReloadOK, rep.Version, rep.Passages, fmtDateTime(rep.LoadedAt))))
	if len(rep.Warnings) > 0 {
		b.WriteString("\n\n" + esc(fmt.Sprintf(txtReloadWarnings, len(rep.Warnings))))
		writeProblems(&b, rep.Warnings)
	}
	return b.String()
}

func writeProblems(b *strings.Builder, lines []string) {
	for i, p := range lines {
		if i == maxProblemLines {
			b.WriteString("\n" + esc(fmt.Sprintf(txtMoreProblems, len(lines)-i)))
			break
		}
		b.WriteString("\n• <code>" + esc(cutText(p, 300)) + "</code>")
	}
}

// NotifyEditors tells every registered editor that a reload the watcher
// started failed, with the problems as file:line. The messages go through
// the outbox; the same report is stored once.
func (b *Bot) NotifyEditors(ctx context.Context, rep ReloadReport) error {
	editors, err := b.store.Officials(ctx, caunoi.RoleEditor, "")
	if err != nil {
		return fmt.Errorf("notify editors: %w", err)
	}
	if len(editors) == 0 {
		return nil
	}
	text := renderReload(rep, true, true)
	sum := sha256.Sum256([]byte(rep.Version + "\x00" + strings.Join(rep.Errors, "\n")))
	key := "reload:" + hex.EncodeToString(sum[:8])
	now := b.now()
	var out []caunoi.OutMessage
	for _, e := range editors {
		for i, part := range splitHTML(text, maxMessageLen) {
			o := outgoing{Kind: outText, Chat: int64(e.ID), Text: part}
			out = append(out, caunoi.OutMessage{Key: fmt.Sprintf("%s:%d:%04d", key, e.ID, i), Chat: int64(e.ID), Payload: o.marshal(), Created: now, NotBefore: now})
		}
	}
	if err := b.store.Enqueue(ctx, out); err != nil {
		return fmt.Errorf("notify editors: %w", err)
	}
	b.send.poke()
	return nil
}

// onGaps handles /khoangtrong [days]: the knowledge gaps of the last days,
// for editors and admins.
func (b *Bot) onGaps(ctx context.Context, m *models.Message, c command, r *reply) error {
	chat := m.Chat.ID
	actor := caunoi.UserID(m.From.ID)
	days := defaultGapDays
	if arg := strings.TrimSuffix(strings.TrimSpace(c.Args), "d"); arg != "" {
		n, err := strconv.Atoi(arg)
		if err != nil || n < 1 || n > maxGapDays {
			r.text(chat, esc(txtGapsUsage), nil)
			return nil
		}
		days = n
	}
	if _, ok, err := b.editorOf(ctx, actor); err != nil {
		return err
	} else if !ok {
		r.text(chat, esc(txtEditorsOnly), nil)
		return nil
	}
	if b.cfg.Editorial == nil {
		r.text(chat, esc(txtNoEditorial), nil)
		return nil
	}
	now := b.now()
	qs, err := b.desk.GapQuestions(ctx, actor, now.Add(-time.Duration(days)*24*time.Hour), now.Add(time.Second))
	if err != nil {
		if infra(err) {
			return &retryableError{err}
		}
		r.text(chat, esc(b.userText(ctx, err, chat)), nil)
		return nil
	}
	all := b.cfg.Editorial.Gaps(qs, 0)
	if len(all) == 0 {
		r.text(chat, esc(fmt.Sprintf(txtGapsNone, days)), nil)
		return nil
	}
	r.text(chat, renderGaps(all, days, len(qs)), nil)
	return nil
}

// renderGaps is the knowledge-gap report: the largest clusters, each with
// its count, communes, why its questions are gaps, an example and the
// nearest handbook passage.
func renderGaps(gaps []caunoi.KnowledgeGap, days, questions int) string {
	var b strings.Builder
	b.WriteString(esc(fmt.Sprintf(txtGapsTitle, days, questions, len(gaps))))
	for i, g := range gaps {
		if i == maxGapClusters {
			b.WriteString("\n\n" + esc(fmt.Sprintf(txtGapsMore, len(gaps)-i)))
			break
		}
		fmt.Fprintf(&b, "\n\n<b>%d. %d câu hỏi</b> · %d xã, phường", i+1, g.Count, len(g.Communes))
		if why := gapReasons(g); why != "" {
			b.WriteString(" · " + esc(why))
		}
		b.WriteString("\n«" + esc(cutText(g.Example, 200)) + "»")
		if g.Nearest.PassageID != "" {
			title := g.Nearest.Title
			if g.Nearest.Section != "" {
				title += " › " + g.Nearest.Section
			}
			b.WriteString("\n<i>Mục gần nhất: " + esc(cutText(title, 120)) + "</i>")
		} else {
			b.WriteString("\n<i>Sổ tay chưa có mục nào gần.</i>")
		}
	}
	return b.String()
}

// gapReasons says in words why a cluster's questions are gaps.
func gapReasons(g caunoi.KnowledgeGap) string {
	var parts []string
	add := func(n int, what string) {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, what))
		}
	}
	add(g.None, "không có kết quả")
	add(g.Low, "kết quả chưa chắc")
	add(g.Unhelpful, "chưa đúng ý")
	add(g.Escalated, "chuyển sở")
	return strings.Join(parts, ", ")
}

// draftKVKey records the draft made from a ticket, so that a second press
// or a replayed update finds it instead of writing another.
func draftKVKey(number string) string { return "handbook-draft:" + number }

// onDraft handles "Thêm vào sổ tay": it writes a handbook draft of the
// ticket in the button and tells the editors.
func (b *Bot) onDraft(ctx context.Context, q *models.CallbackQuery, cb callback, r *reply) (string, error) {
	msg := q.Message.Message
	chat := msg.Chat.ID
	group := msg.Chat.Type != models.ChatTypePrivate
	actor := caunoi.UserID(q.From.ID)
	number := cb.Arg
	say := func(text string) {
		o := outgoing{Kind: outText, Chat: chat, Text: text}
		if group {
			o.Group, o.Thread, o.ReplyTo = true, msg.MessageThreadID, msg.ID
		}
		r.add(o)
	}
	if b.cfg.Editorial == nil {
		return txtNoEditorial, nil
	}
	src, err := b.desk.DraftSource(ctx, actor, number)
	switch {
	case errors.Is(err, caunoi.ErrInvalid):
		return txtDraftNoAnswer, nil
	case errors.Is(err, caunoi.ErrConflict):
		return txtDraftNotSolved, nil
	case err != nil:
		return "", err
	}
	if v, err := b.store.Value(ctx, draftKVKey(number)); err == nil {
		r.add(outgoing{Kind: outMarkup, Chat: chat, Message: msg.ID})
		say(fmt.Sprintf(esc(txtDraftExists), esc(number), "<code>"+esc(string(v))+"</code>"))
		return "", nil
	} else if !errors.Is(err, caunoi.ErrNotFound) {
		return "", err
	}
	name, err := b.cfg.Editorial.WriteDraft(ctx, src)
	if err != nil {
		b.log.Error("write handbook draft", "chat_id", chat, "ticket_id", number, "err", err)
		return txtDraftFailed, nil
	}
	b.log.Info("handbook draft written", "chat_id", chat, "ticket_id", number, "file", name)
	// The file exists whatever happens next: a failure to remember it only
	// lets a later press write a second draft, so it is logged, not retried.
	if err := b.store.Put(ctx, draftKVKey(number), []byte(name), 0); err != nil {
		b.log.Error("remember handbook draft", "ticket_id", number, "err", err)
	}
	r.add(outgoing{Kind: outMarkup, Chat: chat, Message: msg.ID})
	say(fmt.Sprintf(esc(txtDraftMade), "<code>"+esc(name)+"</code>", esc(number)))

	editors, err := b.store.Officials(ctx, caunoi.RoleEditor, "")
	if err != nil {
		b.log.Error("list editors", "ticket_id", number, "err", err)
		return "", nil
	}
	who := q.From.FirstName
	if o, err := b.store.Official(ctx, actor); err == nil {
		who = o.Name
	}
	for _, e := range editors {
		if e.ID == actor && !group {
			continue // the editor who pressed has just read it
		}
		r.add(outgoing{Kind: outText, Chat: int64(e.ID), Text: esc(fmt.Sprintf(txtDraftNew, name, number, src.Department.Name, orDash(who)))})
	}
	return "", nil
}

// offerDraft adds "Thêm vào sổ tay" where a ticket is resolved: to the
// staff group's notice when the official confirms, as a message to the
// group when staff propose a resolution, and privately to every editor
// the first time the ticket is resolved either way.
func (b *Bot) offerDraft(ctx context.Context, t caunoi.Ticket, n caunoi.Notice, msgs []outgoing) ([]outgoing, error) {
	if b.cfg.Editorial == nil {
		return msgs, nil
	}
	switch {
	case n.Kind == caunoi.NoticeConfirmed && n.To == 0:
		for i := len(msgs) - 1; i >= 0; i-- {
			if msgs[i].Kind == outText {
				msgs[i].Keyboard = [][]button{{b.btn(msgs[i].Chat, btnDraft, actDraft, n.Ticket)}}
				break
			}
		}
	case n.Kind == caunoi.NoticeResolved && n.To != 0:
		chat, ok := b.cfg.Groups[t.Department]
		if !ok {
			break
		}
		o := outgoing{Kind: outText, Chat: chat, Group: true, Bind: n.Ticket,
			Text:     esc(fmt.Sprintf(txtDraftOffer, n.Ticket)),
			Keyboard: [][]button{{b.btn(chat, btnDraft, actDraft, n.Ticket)}}}
		if b.cfg.Forums[chat] {
			o.TopicKey = n.Ticket + ":" + t.Department
		}
		msgs = append(msgs, o)
	default:
		return msgs, nil
	}
	first, err := b.firstResolution(ctx, t.Number)
	if err != nil || !first {
		return msgs, err
	}
	editors, err := b.store.Officials(ctx, caunoi.RoleEditor, "")
	if err != nil {
		return msgs, err
	}
	for _, e := range editors {
		chat := int64(e.ID)
		msgs = append(msgs, outgoing{Kind: outText, Chat: chat, Text: esc(fmt.Sprintf(txtDraftOffer, n.Ticket)),
			Keyboard: [][]button{{b.btn(chat, btnDraft, actDraft, n.Ticket)}}})
	}
	return msgs, nil
}

// firstResolution reports whether the ticket's timeline holds exactly one
// resolution (proposed or confirmed): the one being delivered.
func (b *Bot) firstResolution(ctx context.Context, number string) (bool, error) {
	events, err := b.store.Events(ctx, number)
	if err != nil {
		return false, err
	}
	n := 0
	for _, ev := range events {
		if ev.Kind == caunoi.EventResolved || ev.Kind == caunoi.EventConfirmed {
			n++
		}
	}
	return n == 1, nil
}
