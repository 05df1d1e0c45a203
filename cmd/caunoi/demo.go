package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/bot/telegramtest"
	"github.com/caunoi/caunoi/knowledge"
)

func init() {
	register("demo", "chạy thử bot trên máy, với máy chủ Telegram giả lập (không cần mạng)", runDemo)
}

const demoUsage = `Cách dùng: caunoi demo [--script TỆP] [--handbook THƯ_MỤC] [--verbose]

Chạy bot Cầu Nối thật trên một máy chủ Telegram giả lập ngay trong máy, với
sổ tay đóng gói và dữ liệu tạm (xóa khi thoát). Không cần mã bot, Redis hay
mạng. Không có --script: trò chuyện từ bàn phím, vai cán bộ xã hoặc cán bộ Sở.

Tham số:
  --script TỆP         chạy kịch bản TỆP, in diễn biến; mã thoát khác 0 nếu
                       một dòng expect không đạt. Nêu nhiều lần để chạy lần
                       lượt nhiều kịch bản (mỗi kịch bản một cán bộ xã mới)
  --handbook THƯ_MỤC   dùng sổ tay trong THƯ_MỤC thay cho sổ tay đóng gói
  --verbose            in nhật ký của bot ra stderr
  -h, --help           in hướng dẫn này

Mỗi dòng kịch bản là một bước; # mở đầu chú thích, dòng trống bỏ qua:
` + demoGrammar

// Fixed parts of the demo world.
const (
	demoCommuneCode = "00001"
	demoCommuneName = "Phường Demo (minh họa)"
	demoProvince    = "Tỉnh Minh Họa"
	demoOfficial    = "Nguyễn Thị Lan"
	demoPosition    = "công chức tư pháp – hộ tịch"
	// demoIdleTimeout bounds the wait for the bot to finish one step.
	demoIdleTimeout = 15 * time.Second
)

// demoStaffNames are the staff members, one per department in handbook order.
var demoStaffNames = []string{
	"Trần Minh Đức", "Lê Văn Hải", "Phạm Thu Hà", "Hoàng Quốc Bảo", "Vũ Thanh Tùng",
	"Đặng Thị Mai", "Bùi Văn Nam", "Đỗ Thị Hương", "Ngô Thị Thảo", "Dương Văn Long",
	"Lý Thị Ngọc", "Phan Văn Khoa", "Trịnh Thị Yến",
}

func runDemo(ctx context.Context, m *Main, args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var scripts demoScripts
	fs.Var(&scripts, "script", "")
	hbDir := fs.String("handbook", "", "")
	verbose := fs.Bool("verbose", false, "")
	if err := fs.Parse(trimArgs(args)); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(m.Stdout, demoUsage)
			return nil
		}
		fmt.Fprintf(m.Stderr, "caunoi demo: %v\n\n%s", err, demoUsage)
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(m.Stderr, "caunoi demo: thừa tham số %q\n\n%s", fs.Arg(0), demoUsage)
		return errUsage
	}
	// Every script is read and checked before anything runs.
	steps := make([][]demoStep, len(scripts))
	var bad []error
	for i, name := range scripts {
		f, err := os.Open(name)
		if err != nil {
			bad = append(bad, fmt.Errorf("không mở được kịch bản %s: %w", name, err))
			continue
		}
		steps[i], err = parseDemoScript(f, name)
		f.Close()
		if err != nil {
			bad = append(bad, err)
		}
	}
	if len(bad) > 0 {
		return &exitError{code: 2, err: errors.Join(bad...)}
	}
	log := slog.New(slog.DiscardHandler)
	if *verbose {
		log = newLogger(m.Stderr, "debug", "text")
	}
	e, err := startDemo(ctx, demoOptions{
		Out: m.Stdout, Style: isTerminal(m.Stdout) && m.Getenv("NO_COLOR") == "",
		HandbookDir: *hbDir, Log: log,
	})
	if err != nil {
		if ctx.Err() != nil {
			return &exitError{code: 130, err: errors.New("đã dừng khi đang khởi động")}
		}
		return fmt.Errorf("khởi động bản chạy thử: %w", err)
	}
	defer e.Close()
	if len(scripts) > 0 {
		return e.runScripts(ctx, scripts, steps)
	}
	if err := e.newOfficial(ctx); err != nil {
		return err
	}
	return e.interactive(ctx, m.Stdin)
}

// demoScripts collects repeated --script flags.
type demoScripts []string

func (s *demoScripts) String() string { return strings.Join(*s, ",") }

func (s *demoScripts) Set(v string) error {
	if strings.TrimSpace(v) == "" {
		return errors.New("thiếu tên tệp kịch bản")
	}
	*s = append(*s, v)
	return nil
}

// isTerminal reports whether w is a character device, such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// demoOptions configure a demo world.
type demoOptions struct {
	Out         io.Writer
	Style       bool   // bold and italics with ANSI escapes
	HandbookDir string // empty: the embedded handbook
	Log         *slog.Logger
}

// demoCard is a ticket card the bot posted in a staff group.
type demoCard struct {
	Chat   int64
	Msg    int
	Number string
	Dept   string
}

// demoEnv is a running demo: the emulator, the real bot polling it, and the
// people who act in it. Its methods are for one goroutine at a time, except
// printNew and hasNew, which are safe to call concurrently with the others.
type demoEnv struct {
	out   io.Writer
	style bool
	srv   *telegramtest.Server
	app   *app
	dir   string
	stop  context.CancelFunc
	done  chan struct{}

	official  telegramtest.User
	depts     []caunoi.Department
	staff     map[string]telegramtest.User // department code → staff member
	groups    map[string]int64             // department code → staff group
	groupDept map[int64]string
	chats     []int64 // printing order
	chatName  map[int64]string

	mu         sync.Mutex    // guards the fields below and the output
	printed    map[int64]int // outbox entries already shown, per chat
	answers    int           // callback answers already shown
	toast      string        // the answer to the official's latest button press
	card       *demoCard     // the latest ticket card
	staffReply map[int64]int // latest message a staff> step posted, per group
}

// startDemo builds the demo world: emulator, temporary store, the app with
// one staff group per department, the commune, and the staff registered
// through the bot with invites. The official comes with newOfficial. The
// caller must Close it.
func startDemo(ctx context.Context, o demoOptions) (_ *demoEnv, err error) {
	hfs, err := handbookFS(o.HandbookDir)
	if err != nil {
		return nil, err
	}
	h, problems := knowledge.Load(hfs, time.Now())
	if perr := problems.Err(); perr != nil {
		return nil, fmt.Errorf("sổ tay có lỗi (xem: caunoi handbook check):\n%w", perr)
	}
	if len(h.Departments) == 0 {
		return nil, errors.New("sổ tay không có danh sách sở (departments.yaml)")
	}
	e := &demoEnv{
		out: o.Out, style: o.Style, depts: h.Departments,
		staff: map[string]telegramtest.User{}, groups: map[string]int64{}, groupDept: map[int64]string{},
		chatName: map[int64]string{}, printed: map[int64]int{}, staffReply: map[int64]int{},
		done: make(chan struct{}),
	}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	if e.dir, err = os.MkdirTemp("", "caunoi-demo-"); err != nil {
		return nil, fmt.Errorf("thư mục tạm: %w", err)
	}
	if e.srv, err = telegramtest.NewServer(telegramtest.WithBotName("CauNoiDemoBot", "Cầu Nối (minh họa)")); err != nil {
		return nil, fmt.Errorf("máy chủ Telegram giả lập: %w", err)
	}
	e.chats = append(e.chats, 0) // the official's chat, set by newOfficial
	for i, d := range e.depts {
		name := demoStaffNames[i%len(demoStaffNames)]
		if i >= len(demoStaffNames) {
			name = fmt.Sprintf("%s %d", name, i/len(demoStaffNames)+1)
		}
		u := e.srv.AddUser(telegramtest.User{FirstName: name, LanguageCode: "vi"})
		g := e.srv.AddGroup("Cán bộ "+d.Name+" (minh họa)", u.ID)
		e.staff[d.Code], e.groups[d.Code], e.groupDept[g.ID] = u, g.ID, d.Code
		e.chats = append(e.chats, g.ID)
		e.chatName[g.ID] = "nhóm " + d.Name
		e.chatName[u.ID] = name + " (" + d.Name + ")"
	}
	for _, d := range e.depts {
		e.chats = append(e.chats, e.staff[d.Code].ID)
	}

	key := make([]byte, 16)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("khóa ký nút bấm: %w", err)
	}
	cfg := DefaultConfig()
	cfg.Token = e.srv.Token()
	cfg.APIURL = e.srv.URL()
	cfg.Store = "bolt:" + filepath.Join(e.dir, "demo.db")
	cfg.DataDir = e.dir
	cfg.DraftsDir = filepath.Join(e.dir, "drafts")
	cfg.HandbookDir = o.HandbookDir
	cfg.Groups = e.groups
	cfg.SigningKey = hex.EncodeToString(key)
	// The emulator has no flood limits: let the demo go at its own pace.
	cfg.SendRate = 1000
	cfg.ChatGap = "0s"
	cfg.GroupRate = 10000
	if e.app, err = openApp(ctx, cfg, o.Log, nil, nil); err != nil {
		return nil, err
	}
	runCtx, stop := context.WithCancel(ctx)
	e.stop = stop
	go func() {
		defer close(e.done)
		if err := e.app.bot.Run(runCtx, true); err != nil {
			o.Log.Error("demo bot stopped", "err", err)
		}
	}()
	if err := e.populate(ctx); err != nil {
		return nil, err
	}
	return e, nil
}

// populate puts the commune in the registry and registers every staff
// member.
func (e *demoEnv) populate(ctx context.Context) error {
	err := e.app.store.ReplaceCommunes(ctx, []caunoi.Commune{{Code: demoCommuneCode, Name: demoCommuneName, Province: demoProvince}})
	if err != nil {
		return fmt.Errorf("danh mục xã: %w", err)
	}
	var people []demoPerson
	for _, d := range e.depts {
		people = append(people, demoPerson{e.staff[d.Code], caunoi.InviteRequest{Role: caunoi.RoleStaff, Department: d.Code}})
	}
	return e.register(ctx, people)
}

// newOfficial registers a new demo official, who starts with an empty chat,
// and forgets the latest ticket: what follows concerns only this official.
func (e *demoEnv) newOfficial(ctx context.Context) error {
	u := e.srv.AddUser(telegramtest.User{FirstName: demoOfficial, Username: "lan_demo", LanguageCode: "vi"})
	e.lock()
	e.official = u
	e.chats[0] = u.ID
	e.chatName[u.ID] = demoOfficial
	e.card, e.toast = nil, ""
	e.unlock()
	return e.register(ctx, []demoPerson{{u, caunoi.InviteRequest{Role: caunoi.RoleOfficial, Commune: demoCommuneCode}}})
}

// demoPerson is someone to register, with the invite they get.
type demoPerson struct {
	user telegramtest.User
	req  caunoi.InviteRequest
}

// register signs people up the way people do: each gets an invite code and
// sends /start with it to the bot.
func (e *demoEnv) register(ctx context.Context, people []demoPerson) error {
	st := e.app.store
	for _, p := range people {
		inv, err := e.app.desk.CreateInvite(ctx, caunoi.Operator, p.req)
		if err != nil {
			return fmt.Errorf("mã mời cho %s: %w", p.user.FirstName, err)
		}
		if _, err := e.srv.SendText(p.user.ID, p.user.ID, "/start "+inv.Code); err != nil {
			return fmt.Errorf("%s gửi /start: %w", p.user.FirstName, err)
		}
	}
	if err := e.waitIdle(ctx); err != nil {
		return err
	}
	for _, p := range people {
		o, err := st.Official(ctx, caunoi.UserID(p.user.ID))
		if err != nil || !o.Has(p.req.Role) {
			return fmt.Errorf("%s chưa đăng ký được qua bot (đã gửi /start kèm mã mời): %v", p.user.FirstName, err)
		}
		// The invite carries the role and the unit; the position is an
		// administrator's record.
		o.Position = "chuyên viên"
		if p.req.Role == caunoi.RoleOfficial {
			o.Position = demoPosition
		}
		if err := st.PutOfficial(ctx, o); err != nil {
			return fmt.Errorf("chức vụ của %s: %w", o.Name, err)
		}
	}
	// What the bot said during registration is not part of the show.
	e.lock()
	defer e.unlock()
	for _, c := range e.chats {
		e.printed[c] = len(e.srv.Outbox(c))
	}
	e.answers = len(e.srv.CallbackAnswers())
	return nil
}

// Close stops the bot, closes the app and the emulator, and removes the
// temporary store.
func (e *demoEnv) Close() {
	if e.stop != nil {
		e.stop()
		<-e.done
	}
	if e.app != nil {
		e.app.Close()
	}
	if e.srv != nil {
		e.srv.Close()
	}
	if e.dir != "" {
		_ = os.RemoveAll(e.dir)
	}
}

// botMessages counts everything the bot did in the demo's chats.
func (e *demoEnv) botMessages() int {
	n := 0
	for _, c := range e.chats {
		n += len(e.srv.Outbox(c))
	}
	return n
}

// waitIdle returns once the bot has nothing left to do: every update is
// confirmed and handled, the outbox is empty, and the number of messages did
// not change between two checks a few milliseconds apart.
func (e *demoEnv) waitIdle(ctx context.Context) error {
	far := time.Now().AddDate(100, 0, 0)
	deadline := time.NewTimer(demoIdleTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(3 * time.Millisecond)
	defer tick.Stop()
	last := -1
	for {
		// busy says what the bot is still doing, in words for the person.
		busy := ""
		if n := len(e.srv.PendingUpdates()); n > 0 {
			busy = fmt.Sprintf("%d cập nhật Telegram chưa nhận", n)
		}
		if busy == "" {
			p, err := e.app.store.Pending(ctx, 1)
			if err != nil {
				return fmt.Errorf("đọc nhật ký cập nhật: %w", err)
			}
			if len(p) > 0 {
				busy = "cập nhật đã nhận nhưng chưa xử lý xong"
			}
		}
		if busy == "" {
			d, err := e.app.store.Due(ctx, far, 1)
			if err != nil {
				return fmt.Errorf("đọc hàng đợi tin gửi: %w", err)
			}
			if len(d) > 0 {
				busy = "tin nhắn chưa gửi trong hàng đợi"
			}
		}
		n := -1
		if busy == "" {
			n = e.botMessages()
			if n == last {
				return nil
			}
		}
		last = n
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			if busy == "" {
				busy = "bot vẫn đang gửi tin"
			}
			return fmt.Errorf("bot chưa xử lý xong sau %v (còn %s)", demoIdleTimeout, busy)
		case <-tick.C:
		}
	}
}

func (e *demoEnv) lock()   { e.mu.Lock() }
func (e *demoEnv) unlock() { e.mu.Unlock() }

// latestCard returns the latest ticket card, or nil before the first.
func (e *demoEnv) latestCard() *demoCard {
	e.lock()
	defer e.unlock()
	return e.card
}

// lastStaffReply returns the message a staff> step last posted in group.
func (e *demoEnv) lastStaffReply(group int64) int {
	e.lock()
	defer e.unlock()
	return e.staffReply[group]
}

// hasNew reports whether the bot did something not yet printed.
func (e *demoEnv) hasNew() bool {
	e.lock()
	defer e.unlock()
	for _, c := range e.chats {
		if len(e.srv.Outbox(c)) > e.printed[c] {
			return true
		}
	}
	return false
}

// printNew prints what the bot did since the last call, chat by chat (the
// official first, then the staff groups in handbook order), and notes the
// latest ticket card.
func (e *demoEnv) printNew() {
	e.lock()
	defer e.unlock()
	for _, c := range e.chats {
		box := e.srv.Outbox(c)
		for _, o := range box[min(e.printed[c], len(box)):] {
			e.noteCard(o)
			e.printOutgoing(o)
		}
		e.printed[c] = len(box)
	}
	answers := e.srv.CallbackAnswers()
	for _, a := range answers[min(e.answers, len(answers)):] {
		if a.Text == "" {
			continue
		}
		kind := "thông báo"
		if a.ShowAlert {
			kind = "hộp thoại"
		}
		who := e.chatName[a.Query.From.ID]
		if a.Query.From.ID == e.official.ID {
			e.toast = a.Text
		}
		fmt.Fprintf(e.out, "  🤖 ⓘ %s · %s: %s\n", who, kind, a.Text)
	}
	e.answers = len(answers)
}

// ticketNumber finds a ticket number such as TP-2026-000001.
var ticketNumber = regexp.MustCompile(`\b[A-Z]{2,5}-\d{4}-\d{4,}\b`)

// noteCard remembers o when it is a new ticket card in a staff group.
func (e *demoEnv) noteCard(o telegramtest.Outgoing) {
	dept, ok := e.groupDept[o.ChatID]
	if !ok || o.Method != "sendMessage" || !strings.HasPrefix(o.Message.Text, "🆕") {
		return
	}
	num := ticketNumber.FindString(o.Message.Text)
	if num == "" {
		return
	}
	e.card = &demoCard{Chat: o.ChatID, Msg: o.Message.MessageID, Number: num, Dept: dept}
}

func (e *demoEnv) printOutgoing(o telegramtest.Outgoing) {
	who := e.chatName[o.ChatID]
	m := o.Message
	switch o.Method {
	case "editMessageText":
		fmt.Fprintf(e.out, "  🤖 ✎ %s · sửa tin #%d\n", who, m.MessageID)
	case "editMessageReplyMarkup":
		if m.ReplyMarkup == nil || len(m.ReplyMarkup.InlineKeyboard) == 0 {
			fmt.Fprintf(e.out, "  🤖 ✎ %s · gỡ các nút ở tin #%d\n", who, m.MessageID)
			return
		}
		fmt.Fprintf(e.out, "  🤖 ✎ %s · đổi các nút ở tin #%d\n", who, m.MessageID)
		e.printButtons(m)
		return
	case "deleteMessage":
		fmt.Fprintf(e.out, "  🤖 ✗ %s · xóa tin #%d\n", who, m.MessageID)
		return
	default:
		reply := ""
		if m.ReplyToMessage != nil {
			reply = fmt.Sprintf(", trả lời tin #%d", m.ReplyToMessage.MessageID)
		}
		fmt.Fprintf(e.out, "  🤖 → %s · tin #%d%s\n", who, m.MessageID, reply)
	}
	text, ents := m.Text, m.Entities
	switch {
	case len(m.Photo) > 0:
		text, ents = "[ảnh] "+m.Caption, shiftEntities(m.CaptionEntities, utf16Len("[ảnh] "))
	case m.Document != nil:
		prefix := "[tệp " + m.Document.FileName + "] "
		text, ents = prefix+m.Caption, shiftEntities(m.CaptionEntities, utf16Len(prefix))
	}
	for _, line := range strings.Split(styleText(text, ents, e.style), "\n") {
		fmt.Fprintln(e.out, strings.TrimRight("    "+line, " "))
	}
	e.printButtons(m)
}

func (e *demoEnv) printButtons(m telegramtest.Message) {
	if m.ReplyMarkup == nil {
		return
	}
	for _, row := range m.ReplyMarkup.InlineKeyboard {
		labels := make([]string, len(row))
		for i, b := range row {
			labels[i] = "[" + b.Text + "]"
		}
		fmt.Fprintln(e.out, "    "+strings.Join(labels, " "))
	}
}

// ---- acting ----

func (e *demoEnv) isBot(m telegramtest.Message) bool {
	return m.From != nil && m.From.ID == e.srv.Bot().ID
}

// latestBot returns the bot's latest message in chat that satisfies ok.
func (e *demoEnv) latestBot(chat int64, ok func(telegramtest.Message) bool) (telegramtest.Message, bool) {
	msgs := e.srv.Messages(chat)
	for i := len(msgs) - 1; i >= 0; i-- {
		if e.isBot(msgs[i]) && (ok == nil || ok(msgs[i])) {
			return msgs[i], true
		}
	}
	return telegramtest.Message{}, false
}

// findButton returns the callback data of m's button that matches label,
// preferring an exact match over a prefix.
func findButton(m telegramtest.Message, label string) (telegramtest.InlineKeyboardButton, bool) {
	if m.ReplyMarkup == nil {
		return telegramtest.InlineKeyboardButton{}, false
	}
	var prefix *telegramtest.InlineKeyboardButton
	for _, row := range m.ReplyMarkup.InlineKeyboard {
		for i := range row {
			b := row[i]
			if b.CallbackData == "" || !labelMatches(b.Text, label) {
				continue
			}
			if foldLabel(b.Text) == foldLabel(label) {
				return b, true
			}
			if prefix == nil {
				prefix = &b
			}
		}
	}
	if prefix != nil {
		return *prefix, true
	}
	return telegramtest.InlineKeyboardButton{}, false
}

// do performs one step other than expect and returns a line that says what
// happened. It does not wait for the bot.
func (e *demoEnv) do(st demoStep) (string, error) {
	lan := e.official.ID
	if st.Actor == actorOfficial {
		e.lock()
		e.toast = ""
		e.unlock()
		switch st.Op {
		case opSay:
			_, err := e.srv.SendText(lan, lan, st.Arg)
			return "", err
		case opReply:
			m, ok := e.latestBot(lan, func(m telegramtest.Message) bool {
				return ticketNumber.MatchString(m.Text) || strings.Contains(m.Text, "(reply)")
			})
			if !ok {
				return "", errors.New("bot chưa gửi tin nào về phiếu để trả lời")
			}
			if _, err := e.srv.Reply(lan, lan, m.MessageID, st.Arg); err != nil {
				return "", err
			}
			return fmt.Sprintf("%s trả lời tin #%d", demoOfficial, m.MessageID), nil
		case opPress:
			var b telegramtest.InlineKeyboardButton
			m, ok := e.latestBot(lan, func(m telegramtest.Message) bool {
				var found bool
				b, found = findButton(m, st.Arg)
				return found
			})
			if !ok {
				return "", fmt.Errorf("không tin nào của bot gửi cán bộ xã có nút «%s»", st.Arg)
			}
			if _, err := e.srv.PressButton(lan, lan, m.MessageID, b.CallbackData); err != nil {
				return "", err
			}
			return fmt.Sprintf("%s bấm [%s] ở tin #%d", demoOfficial, b.Text, m.MessageID), nil
		case opAttach:
			return e.attach(st.Arg)
		}
		return "", fmt.Errorf("bước không hợp lệ: %s", st.Src)
	}
	card := e.latestCard()
	if card == nil {
		return "", errors.New("chưa có phiếu nào được gửi tới nhóm cán bộ Sở")
	}
	c := *card
	staff := e.staff[c.Dept]
	switch st.Op {
	case opSay:
		// A "need more information" prompt not yet answered takes the reply;
		// otherwise the reply goes to the card.
		target := c.Msg
		if p, ok := e.latestBot(c.Chat, func(m telegramtest.Message) bool {
			return m.ReplyToMessage != nil && m.ReplyToMessage.MessageID == c.Msg && m.ReplyMarkup == nil
		}); ok && p.MessageID > e.lastStaffReply(c.Chat) {
			target = p.MessageID
		}
		upd, err := e.srv.Reply(staff.ID, c.Chat, target, st.Arg)
		if err != nil {
			return "", err
		}
		e.lock()
		e.staffReply[c.Chat] = upd.Message.MessageID
		e.unlock()
		return fmt.Sprintf("%s (%s) trả lời tin #%d, phiếu %s", staff.FirstName, e.chatName[c.Chat], target, c.Number), nil
	case opPress:
		var b telegramtest.InlineKeyboardButton
		m, ok := e.latestBot(c.Chat, func(m telegramtest.Message) bool {
			if m.MessageID != c.Msg && (m.ReplyToMessage == nil || m.ReplyToMessage.MessageID != c.Msg) {
				return false
			}
			var found bool
			b, found = findButton(m, st.Arg)
			return found
		})
		if !ok {
			return "", fmt.Errorf("thẻ phiếu %s (và các tin kèm theo) không có nút «%s»", c.Number, st.Arg)
		}
		if _, err := e.srv.PressButton(staff.ID, c.Chat, m.MessageID, b.CallbackData); err != nil {
			return "", err
		}
		return fmt.Sprintf("%s (%s) bấm [%s] ở tin #%d", staff.FirstName, e.chatName[c.Chat], b.Text, m.MessageID), nil
	}
	return "", fmt.Errorf("bước không hợp lệ: %s", st.Src)
}

// attach sends the file at path from the official: a photo when it is a PNG,
// JPEG or GIF image, a document otherwise.
func (e *demoEnv) attach(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("đọc tệp: %w", err)
	}
	name := path[strings.LastIndexAny(path, `/\`)+1:]
	up := &telegramtest.Upload{Name: name, Data: data}
	d := telegramtest.Draft{Document: up}
	kind := "tệp"
	switch mime := http.DetectContentType(data); mime {
	case "image/png", "image/jpeg", "image/gif":
		up.MIME = mime
		d = telegramtest.Draft{Photo: up}
		kind = "ảnh"
	}
	lan := e.official.ID
	if _, err := e.srv.Send(lan, lan, d); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s gửi %s %s", demoOfficial, kind, name), nil
}

// check evaluates an expect step: nil when it holds.
func (e *demoEnv) check(st demoStep) error {
	var m telegramtest.Message
	var ok bool
	where := "cán bộ xã"
	if st.Actor == actorOfficial {
		m, ok = e.latestBot(e.official.ID, nil)
	} else {
		card := e.latestCard()
		if card == nil {
			return errors.New("expect staff: chưa có phiếu nào được gửi tới nhóm cán bộ Sở")
		}
		where = e.chatName[card.Chat]
		m, ok = e.latestBot(card.Chat, nil)
	}
	if !ok {
		return fmt.Errorf("expect %s: bot chưa gửi tin nào tới %s", st.Actor, where)
	}
	text := m.Text
	if text == "" {
		text = m.Caption
	}
	if containsFolded(text, st.Arg) {
		return nil
	}
	if st.Actor == actorOfficial {
		e.lock()
		toast := e.toast
		e.unlock()
		if toast != "" && containsFolded(toast, st.Arg) {
			return nil
		}
	}
	return fmt.Errorf("expect %s: không thấy «%s» trong tin mới nhất của bot tới %s (tin #%d):\n%s",
		st.Actor, st.Arg, where, m.MessageID, indent(text, "    "))
}

func indent(s, pre string) string {
	return pre + strings.ReplaceAll(s, "\n", "\n"+pre)
}

// step runs one step: an expect is checked; any other step is performed,
// then the bot is given time to finish and what it sent is printed.
func (e *demoEnv) step(ctx context.Context, st demoStep) error {
	if st.Op == opExpect {
		if err := e.check(st); err != nil {
			return err
		}
		e.println("  ✓ đạt")
		return nil
	}
	note, err := e.do(st)
	if err != nil {
		return err
	}
	if note != "" {
		e.println("  (" + note + ")")
	}
	if err := e.waitIdle(ctx); err != nil {
		return err
	}
	e.printNew()
	return nil
}

// ---- the two front ends ----

func (e *demoEnv) printWorld() {
	e.printf("Cầu Nối · bản chạy thử trên máy chủ Telegram giả lập (minh họa)\n")
	e.printf("Cán bộ xã: %s, %s, %s; đã đăng ký qua bot bằng mã mời.\n", demoOfficial, demoPosition, demoCommuneName)
	e.printf("Cán bộ Sở: %d nhóm, mỗi nhóm một cán bộ đã đăng ký.\n", len(e.depts))
}

// runScripts runs each script in turn, each with a newly registered
// official, and reports every script that failed.
func (e *demoEnv) runScripts(ctx context.Context, names []string, steps [][]demoStep) error {
	e.printWorld()
	var failed []error
	for i, name := range names {
		if len(names) > 1 {
			e.printf("\n══ Kịch bản %s ══\n", name)
		}
		if err := e.newOfficial(ctx); err != nil {
			return err
		}
		if err := e.runScript(ctx, name, steps[i]); err != nil {
			if ctx.Err() != nil {
				return &exitError{code: 130, err: errors.New("đã dừng trước khi chạy hết kịch bản")}
			}
			failed = append(failed, err)
		}
	}
	if len(failed) > 0 {
		return &exitError{code: 1, err: errors.Join(failed...)}
	}
	return nil
}

// runScript performs steps in order and stops at the first that fails; the
// error starts with "name:line:".
func (e *demoEnv) runScript(ctx context.Context, name string, steps []demoStep) error {
	checks := 0
	for _, st := range steps {
		e.printf("\n▶ %d │ %s\n", st.Line, st.Src)
		if err := e.step(ctx, st); err != nil {
			if ctx.Err() != nil {
				e.println("  (đã dừng)")
				return err
			}
			e.printf("  ✗ %v\n", err)
			return fmt.Errorf("%s:%d: %w", name, st.Line, err)
		}
		if st.Op == opExpect {
			checks++
		}
	}
	e.printf("\nXong: %d bước, %d kiểm tra đều đạt.\n", len(steps), checks)
	return nil
}

const demoHelp = `Gõ câu hỏi rồi Enter để hỏi bot, với vai %s (có dấu hay không dấu đều được).
  official [Nhãn nút]          bấm nút, ví dụ: official [Hỏi cán bộ]
  official reply> NỘI DUNG     trả lời (reply) tin mới nhất của bot về phiếu
  official attach ĐƯỜNG_DẪN    gửi ảnh hoặc tệp
  staff> NỘI DUNG · staff [Nhãn nút]   vai cán bộ Sở nhận phiếu mới nhất
  expect official: CHỮ · expect staff: CHỮ   kiểm tra tin mới nhất
Gõ /quit hoặc Ctrl-D để thoát, Ctrl-C để dừng.
`

// interactive reads steps from in until /quit, end of input or ctx ends.
// Lines that are not steps are the official's messages. What the bot sends
// is printed as it arrives.
func (e *demoEnv) interactive(ctx context.Context, in io.Reader) error {
	e.printWorld()
	e.printf(demoHelp, demoOfficial)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for e.srv.WaitFor(ctx, e.hasNew) == nil {
			e.printNew()
		}
	}()
	defer func() { cancel(); <-watched }()
	// The reader ends at end of input; a terminal read cannot be
	// interrupted, so on Ctrl-C it is left to the process's exit.
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(in)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
	}()
	for {
		if e.style {
			e.printf("› ")
		}
		var line string
		var ok bool
		select {
		case <-ctx.Done():
			e.println("\nĐã dừng.")
			return nil
		case line, ok = <-lines:
		}
		line = strings.TrimSpace(line)
		if !ok || line == "/quit" {
			e.println("Tạm biệt.")
			return nil
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		st, err := parseDemoLine(line)
		switch {
		case errors.Is(err, errNotStep):
			st = demoStep{Src: line, Actor: actorOfficial, Op: opSay, Arg: line}
		case err != nil:
			e.say("  ✗ " + err.Error())
			continue
		}
		if st.Op == opAttach {
			if st.Arg, err = resolveAttach(".", st.Arg); err != nil {
				e.say("  ✗ " + err.Error())
				continue
			}
		}
		if err := e.step(ctx, st); err != nil {
			if ctx.Err() != nil {
				continue
			}
			e.say("  ✗ " + err.Error())
		}
	}
}

// say prints a line of the front end's own.
func (e *demoEnv) say(s string) { e.println(s) }

// printf and println write to the output between the bot's messages, never
// in the middle of one.
func (e *demoEnv) printf(format string, args ...any) {
	e.lock()
	defer e.unlock()
	fmt.Fprintf(e.out, format, args...)
}

func (e *demoEnv) println(s string) {
	e.lock()
	defer e.unlock()
	fmt.Fprintln(e.out, s)
}

// ---- text ----

// styleText renders a message's text for a terminal: blockquotes get a bar
// at each line, and, when style is set, bold and italic entities get ANSI
// escapes. Entity offsets are in UTF-16 code units.
func styleText(text string, ents []telegramtest.MessageEntity, style bool) string {
	type span struct{ from, to int }
	var bold, ital, quote []span
	for _, en := range ents {
		s := span{en.Offset, en.Offset + en.Length}
		switch en.Type {
		case "bold":
			bold = append(bold, s)
		case "italic":
			ital = append(ital, s)
		case "blockquote", "expandable_blockquote":
			quote = append(quote, s)
		}
	}
	in := func(ss []span, pos int) bool {
		for _, s := range ss {
			if pos >= s.from && pos < s.to {
				return true
			}
		}
		return false
	}
	var b strings.Builder
	pos, lineStart := 0, true
	cur := ""
	for _, r := range text {
		if lineStart && r != '\n' && in(quote, pos) {
			if cur != "" {
				b.WriteString("\x1b[0m")
				cur = ""
			}
			b.WriteString("┃ ")
		}
		if style && r != '\n' {
			want := ""
			if in(bold, pos) {
				want += "\x1b[1m"
			}
			if in(ital, pos) {
				want += "\x1b[3m"
			}
			if want != cur {
				if cur != "" {
					b.WriteString("\x1b[0m")
				}
				b.WriteString(want)
				cur = want
			}
		} else if r == '\n' && cur != "" {
			b.WriteString("\x1b[0m")
			cur = ""
		}
		b.WriteRune(r)
		lineStart = r == '\n'
		pos += utf16Len(string(r))
	}
	if cur != "" {
		b.WriteString("\x1b[0m")
	}
	return b.String()
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

func shiftEntities(ents []telegramtest.MessageEntity, by int) []telegramtest.MessageEntity {
	out := make([]telegramtest.MessageEntity, len(ents))
	for i, en := range ents {
		en.Offset += by
		out[i] = en
	}
	return out
}
