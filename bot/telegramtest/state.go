package telegramtest

import (
	"strings"
	"unicode/utf8"
)

// state is everything the server knows. It is guarded by Server.mu.
type state struct {
	me User

	users      map[int64]*userState
	chats      map[int64]*chatState
	nextUserID int64
	nextChatID int64
	nextGroup  int64

	updates        []Update // not yet confirmed, in order
	nextUpdateID   int64
	allowedUpdates []string
	pollGen        uint64
	polling        int // getUpdates calls waiting

	webhook    *webhookState
	webhookGen uint64

	callbacks       map[string]*callbackState
	nextCallbackID  int64
	callbackAnswers []CallbackAnswer
	chatActions     []ChatAction

	commands map[string][]BotCommand

	files     map[string]*storedFile // by file_id
	filePaths map[string]*storedFile // by file_path
	nextFile  int64

	outbox  map[int64][]Outgoing
	cursors map[int64]int
	unread  map[int64]bool // chats whose outbox holds messages past the cursor

	requests []Request
	faults   []*faultState
	limits   *Limits
	sends    sendLog
	stats    Stats
}

func newState(me User) state {
	return state{
		me:           me,
		users:        map[int64]*userState{},
		chats:        map[int64]*chatState{},
		nextUserID:   5000000001,
		nextChatID:   1001000000001,
		nextGroup:    4000000001,
		nextUpdateID: 700000001,
		callbacks:    map[string]*callbackState{},
		commands:     map[string][]BotCommand{},
		files:        map[string]*storedFile{},
		filePaths:    map[string]*storedFile{},
		outbox:       map[int64][]Outgoing{},
		cursors:      map[int64]int{},
	}
}

type userState struct {
	user    User
	started bool // the user has written to the bot
	blocked bool
}

type chatState struct {
	chat       Chat
	members    map[int64]bool
	messages   []*storedMessage // index i holds message ID i+1
	topics     map[int]*ForumTopic
	botMember  bool
	migratedTo int64 // a basic group upgraded to this supergroup
}

// storedMessage is a message as kept by the server; replyTo is resolved to a
// ReplyToMessage when the message is shown.
type storedMessage struct {
	msg     Message
	replyTo int
	deleted bool
	byBot   bool
}

type callbackState struct {
	query    CallbackQuery
	answered bool
}

type webhookState struct {
	url            string
	secret         string
	maxConnections int
	lastErrorDate  int64
	lastErrorMsg   string
	gen            uint64
}

// message returns the stored message id of c, or nil.
func (c *chatState) message(id int) *storedMessage {
	if id < 1 || id > len(c.messages) {
		return nil
	}
	m := c.messages[id-1]
	if m.deleted {
		return nil
	}
	return m
}

// addMessage gives m the chat's next message ID, stores it and returns it.
func (c *chatState) addMessage(m storedMessage) *storedMessage {
	m.msg.MessageID = len(c.messages) + 1
	m.msg.Chat = c.chat
	sm := &m
	c.messages = append(c.messages, sm)
	return sm
}

// view is the message as the API shows it, with its reply one level deep.
func (c *chatState) view(sm *storedMessage) Message {
	m := cloneMessage(sm.msg)
	if sm.replyTo != 0 {
		if r := c.message(sm.replyTo); r != nil {
			rm := cloneMessage(r.msg)
			m.ReplyToMessage = &rm
		}
	}
	return m
}

// cloneMessage deep-copies a message so that callers never share slices with
// the server's state.
func cloneMessage(m Message) Message {
	out := m
	out.From = clonePtr(m.From, cloneUser)
	if m.ReplyToMessage != nil {
		r := cloneMessage(*m.ReplyToMessage)
		out.ReplyToMessage = &r
	}
	out.Text = jsonString(m.Text)
	out.Entities = cloneEntities(m.Entities)
	out.LinkPreviewOptions = clonePtr(m.LinkPreviewOptions, func(o LinkPreviewOptions) LinkPreviewOptions {
		o.URL = jsonString(o.URL)
		return o
	})
	out.Photo = nil
	for _, p := range m.Photo {
		p.FileID, p.FileUniqueID = jsonString(p.FileID), jsonString(p.FileUniqueID)
		out.Photo = append(out.Photo, p)
	}
	out.Document = clonePtr(m.Document, func(d Document) Document {
		d.FileID, d.FileUniqueID = jsonString(d.FileID), jsonString(d.FileUniqueID)
		d.FileName, d.MimeType = jsonString(d.FileName), jsonString(d.MimeType)
		return d
	})
	out.Caption = jsonString(m.Caption)
	out.CaptionEntities = cloneEntities(m.CaptionEntities)
	out.ForumTopicCreated = clonePtr(m.ForumTopicCreated, func(f ForumTopicCreated) ForumTopicCreated {
		f.Name, f.IconCustomEmojiID = jsonString(f.Name), jsonString(f.IconCustomEmojiID)
		return f
	})
	out.Chat = cloneChat(m.Chat)
	out.ReplyMarkup = clonePtr(m.ReplyMarkup, func(k InlineKeyboardMarkup) InlineKeyboardMarkup {
		if k.InlineKeyboard == nil {
			return k
		}
		rows := make([][]InlineKeyboardButton, len(k.InlineKeyboard))
		for i, row := range k.InlineKeyboard {
			if row == nil {
				continue
			}
			rows[i] = make([]InlineKeyboardButton, len(row))
			for j, b := range row {
				b.Text, b.Style, b.URL, b.CallbackData = jsonString(b.Text), jsonString(b.Style), jsonString(b.URL), jsonString(b.CallbackData)
				rows[i][j] = b
			}
		}
		return InlineKeyboardMarkup{InlineKeyboard: rows}
	})
	return out
}

// The clone functions copy deeply and give what a JSON round trip gives,
// as the emulator's clones once were: empty omitempty lists become nil and
// invalid UTF-8 becomes U+FFFD, byte by byte.

func clonePtr[T any](p *T, clone func(T) T) *T {
	if p == nil {
		return nil
	}
	v := clone(*p)
	return &v
}

func cloneUser(u User) User {
	u.FirstName, u.LastName = jsonString(u.FirstName), jsonString(u.LastName)
	u.Username, u.LanguageCode = jsonString(u.Username), jsonString(u.LanguageCode)
	return u
}

func cloneChat(c Chat) Chat {
	c.Type, c.Title, c.Username = jsonString(c.Type), jsonString(c.Title), jsonString(c.Username)
	c.FirstName, c.LastName = jsonString(c.FirstName), jsonString(c.LastName)
	return c
}

func cloneEntities(es []MessageEntity) []MessageEntity {
	if len(es) == 0 {
		return nil
	}
	out := make([]MessageEntity, len(es))
	for i, e := range es {
		e.Type, e.URL, e.Language, e.CustomEmojiID = jsonString(e.Type), jsonString(e.URL), jsonString(e.Language), jsonString(e.CustomEmojiID)
		e.User = clonePtr(e.User, cloneUser)
		out[i] = e
	}
	return out
}

// jsonString is s as encoding/json writes and reads it back: each byte of
// invalid UTF-8 becomes U+FFFD.
func jsonString(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// chatByUsername finds a chat by its public username.
func (st *state) chatByUsername(name string) *chatState {
	for _, c := range st.chats {
		if c.chat.Username != "" && equalFold(c.chat.Username, name) {
			return c
		}
	}
	return nil
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// defaultExcluded are the update types Telegram leaves out when
// allowed_updates is empty.
var defaultExcluded = map[string]bool{"chat_member": true, "message_reaction": true, "message_reaction_count": true}

func allowedKind(allowed []string, kind string) bool {
	if len(allowed) == 0 {
		return !defaultExcluded[kind]
	}
	for _, a := range allowed {
		if a == kind {
			return true
		}
	}
	return false
}

// enqueueLocked gives u the next update ID and queues it, unless the bot's
// allowed_updates exclude its type. It reports whether u was queued.
func (s *Server) enqueueLocked(u Update) (Update, bool) {
	st := &s.st
	u.UpdateID = st.nextUpdateID
	st.nextUpdateID++
	if !allowedKind(st.allowedUpdates, u.Kind()) {
		return u, false
	}
	st.updates = append(st.updates, u)
	s.notifyLocked()
	return u, true
}

// date is the clock as Unix seconds.
func (s *Server) date() int64 { return s.now().Unix() }
