package telegramtest

import (
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
)

// ErrRefused is returned by the acting methods (Send, PressButton, ...) when
// Telegram would not let a user do what the test asked, such as posting in a
// group they are not a member of. The returned error wraps it.
var ErrRefused = errors.New("telegramtest: refused")

func refused(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrRefused, fmt.Sprintf(format, args...))
}

// AddUser registers a user and returns it with its ID. A zero ID is replaced
// by a fresh one; IsBot is forced to false. The user's private chat with the
// bot has the user's ID, but the bot may write there only after the user has
// written first.
func (s *Server) AddUser(u User) User {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &s.st
	if u.ID == 0 {
		u.ID = st.nextUserID
		st.nextUserID++
	}
	u.IsBot = false
	if u.FirstName == "" {
		u.FirstName = "User " + strconv.FormatInt(u.ID, 10)
	}
	st.users[u.ID] = &userState{user: u}
	st.chats[u.ID] = &chatState{
		chat:    Chat{ID: u.ID, Type: ChatPrivate, FirstName: u.FirstName, LastName: u.LastName, Username: u.Username},
		members: map[int64]bool{u.ID: true},
		topics:  map[int]*ForumTopic{},
	}
	s.notifyLocked()
	return u
}

// User returns a registered user.
func (s *Server) User(id int64) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.st.users[id]
	if !ok {
		return User{}, false
	}
	return u.user, true
}

// AddGroup creates a supergroup with the given members. The bot is an
// administrator of it, so it receives every message.
func (s *Server) AddGroup(title string, members ...int64) Chat {
	return s.addGroup(title, false, members)
}

// AddForum creates a forum supergroup (topics enabled) with the given
// members. The bot is an administrator of it.
func (s *Server) AddForum(title string, members ...int64) Chat {
	return s.addGroup(title, true, members)
}

func (s *Server) addGroup(title string, forum bool, members []int64) Chat {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &s.st
	id := -st.nextChatID
	st.nextChatID++
	c := &chatState{
		chat:      Chat{ID: id, Type: ChatSupergroup, Title: title, IsForum: forum},
		members:   map[int64]bool{},
		topics:    map[int]*ForumTopic{},
		botMember: true,
	}
	for _, m := range members {
		c.members[m] = true
	}
	st.chats[id] = c
	s.notifyLocked()
	return c.chat
}

// AddBasicGroup creates a basic (non-super) group with the given members and
// the bot. Basic groups can be upgraded with UpgradeGroup.
func (s *Server) AddBasicGroup(title string, members ...int64) Chat {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := -s.st.nextGroup
	s.st.nextGroup++
	c := &chatState{
		chat:      Chat{ID: id, Type: ChatGroup, Title: title},
		members:   map[int64]bool{},
		topics:    map[int]*ForumTopic{},
		botMember: true,
	}
	for _, m := range members {
		c.members[m] = true
	}
	s.st.chats[id] = c
	s.notifyLocked()
	return c.chat
}

// UpgradeGroup turns a basic group into a supergroup, as Telegram does when a
// group grows or an administrator changes its settings. The old chat gets a
// migrate_to_chat_id service message and the new one a
// migrate_from_chat_id message; from then on the bot's sends to the old ID
// fail with 400 and parameters.migrate_to_chat_id.
func (s *Server) UpgradeGroup(chatID int64) (Chat, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.st.chats[chatID]
	if !ok || old.chat.Type != ChatGroup || old.migratedTo != 0 {
		return Chat{}, refused("chat %d is not a basic group", chatID)
	}
	id := -s.st.nextChatID
	s.st.nextChatID++
	c := &chatState{
		chat:      Chat{ID: id, Type: ChatSupergroup, Title: old.chat.Title},
		members:   map[int64]bool{},
		topics:    map[int]*ForumTopic{},
		botMember: old.botMember,
	}
	var admin User
	for m := range old.members {
		c.members[m] = true
		if u, ok := s.st.users[m]; ok && (admin.ID == 0 || u.user.ID < admin.ID) {
			admin = u.user
		}
	}
	s.st.chats[id] = c
	old.migratedTo = id
	if old.botMember {
		from := admin
		toOld := old.addMessage(storedMessage{msg: Message{From: &from, Date: s.date(), MigrateToChatID: id}})
		s.enqueueLocked(Update{Message: ptr(old.view(toOld))})
		toNew := c.addMessage(storedMessage{msg: Message{From: &from, Date: s.date(), MigrateFromChatID: chatID}})
		s.enqueueLocked(Update{Message: ptr(c.view(toNew))})
	}
	s.notifyLocked()
	return c.chat, nil
}

// RemoveBot removes the bot from a group, with the my_chat_member update
// Telegram sends; the bot's sends there then fail with 403.
func (s *Server) RemoveBot(chatID, byUserID int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.st.chats[chatID]
	if !ok || c.chat.Type == ChatPrivate {
		return refused("no group %d", chatID)
	}
	u, ok := s.st.users[byUserID]
	if !ok || !c.members[byUserID] {
		return refused("user %d is not a member of chat %d", byUserID, chatID)
	}
	if !c.botMember {
		return nil
	}
	c.botMember = false
	s.enqueueLocked(Update{MyChatMember: &ChatMemberUpdated{
		Chat: c.chat, From: u.user, Date: s.date(),
		OldChatMember: ChatMember{Status: "administrator", User: s.st.me},
		NewChatMember: ChatMember{Status: "left", User: s.st.me},
	}})
	return nil
}

// Join adds a user to a group.
func (s *Server) Join(chatID, userID int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.st.chats[chatID]
	if !ok || c.chat.Type == ChatPrivate {
		return refused("no group %d", chatID)
	}
	if _, ok := s.st.users[userID]; !ok {
		return refused("no user %d", userID)
	}
	c.members[userID] = true
	s.notifyLocked()
	return nil
}

// Leave removes a user from a group.
func (s *Server) Leave(chatID, userID int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.st.chats[chatID]
	if !ok || c.chat.Type == ChatPrivate {
		return refused("no group %d", chatID)
	}
	delete(c.members, userID)
	s.notifyLocked()
	return nil
}

// Upload is a file a user sends.
type Upload struct {
	Name string // file name, such as "to-trinh.pdf"
	MIME string // media type; guessed from Name when empty
	Data []byte
}

// Draft is a message a user posts. Text, Photo or Document must be set.
type Draft struct {
	Text     string
	ReplyTo  int     // message ID in the same chat, or 0
	ThreadID int     // forum topic, or 0 for the General topic
	Photo    *Upload // an image in a format Go decodes (PNG, JPEG, GIF)
	Document *Upload
	Caption  string
}

// Send posts d as user from in chat chatID (for a private chat with the bot,
// chatID is the user's ID) and queues the update the bot receives. Text gets
// the bot_command and mention entities a Telegram client would mark, with
// UTF-16 offsets. The error wraps ErrRefused when Telegram would not allow
// the post.
func (s *Server) Send(from, chatID int64, d Draft) (Update, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, c, err := s.actorLocked(from, chatID)
	if err != nil {
		return Update{}, err
	}
	if u.blocked && c.chat.Type == ChatPrivate {
		return Update{}, refused("user %d has blocked the bot; Unblock first", from)
	}
	m := Message{From: &User{}, Date: s.date()}
	*m.From = u.user
	sm := storedMessage{replyTo: d.ReplyTo}
	if err := s.placeLocked(c, &m, &sm, d.ThreadID); err != nil {
		return Update{}, err
	}
	switch {
	case d.Photo != nil:
		f, aerr := s.storeFileLocked(kindPhoto, upload{name: d.Photo.Name, mime: d.Photo.MIME, data: d.Photo.Data})
		if aerr != nil {
			return Update{}, refused("photo: %s", aerr.Description)
		}
		m.Photo = f.photoSizes()
		m.Caption = d.Caption
		m.CaptionEntities = commandEntities(d.Caption)
	case d.Document != nil:
		f, aerr := s.storeFileLocked(kindDocument, upload{name: d.Document.Name, mime: d.Document.MIME, data: d.Document.Data})
		if aerr != nil {
			return Update{}, refused("document: %s", aerr.Description)
		}
		doc := f.document()
		m.Document = &doc
		m.Caption = d.Caption
		m.CaptionEntities = commandEntities(d.Caption)
	default:
		if d.Text == "" {
			return Update{}, refused("empty message")
		}
		if utf16Len(d.Text) > maxTextLen {
			return Update{}, refused("message longer than %d characters", maxTextLen)
		}
		m.Text = d.Text
		m.Entities = commandEntities(d.Text)
	}
	if utf16Len(m.Caption) > maxCaptionLen {
		return Update{}, refused("caption longer than %d characters", maxCaptionLen)
	}
	sm.msg = m
	stored := c.addMessage(sm)
	if c.chat.Type == ChatPrivate {
		u.started = true
	}
	upd, _ := s.enqueueLocked(Update{Message: ptr(c.view(stored))})
	return upd, nil
}

// SendText posts text as user from in chat chatID.
func (s *Server) SendText(from, chatID int64, text string) (Update, error) {
	return s.Send(from, chatID, Draft{Text: text})
}

// Reply posts text as user from in reply to message replyTo of chat chatID.
func (s *Server) Reply(from, chatID int64, replyTo int, text string) (Update, error) {
	return s.Send(from, chatID, Draft{Text: text, ReplyTo: replyTo})
}

// SendInTopic posts text as user from in forum topic threadID of chat chatID.
func (s *Server) SendInTopic(from, chatID int64, threadID int, text string) (Update, error) {
	return s.Send(from, chatID, Draft{Text: text, ThreadID: threadID})
}

// SendPhoto posts an image with an optional caption.
func (s *Server) SendPhoto(from, chatID int64, photo Upload, caption string) (Update, error) {
	return s.Send(from, chatID, Draft{Photo: &photo, Caption: caption})
}

// SendDocument posts a file with an optional caption.
func (s *Server) SendDocument(from, chatID int64, doc Upload, caption string) (Update, error) {
	return s.Send(from, chatID, Draft{Document: &doc, Caption: caption})
}

// actorLocked checks that user from may post in chat chatID.
func (s *Server) actorLocked(from, chatID int64) (*userState, *chatState, error) {
	u, ok := s.st.users[from]
	if !ok {
		return nil, nil, refused("no user %d", from)
	}
	c, ok := s.st.chats[chatID]
	if !ok {
		return nil, nil, refused("no chat %d", chatID)
	}
	if c.chat.Type == ChatPrivate && chatID != from {
		return nil, nil, refused("user %d cannot post in the private chat of user %d", from, chatID)
	}
	if !c.members[from] {
		return nil, nil, refused("user %d is not a member of chat %d", from, chatID)
	}
	if c.migratedTo != 0 {
		return nil, nil, refused("chat %d was upgraded to supergroup %d", chatID, c.migratedTo)
	}
	return u, c, nil
}

// placeLocked sets the thread and reply of a new message in c, the way
// Telegram does: a reply inherits the thread of the message it answers, and
// a message in a forum topic is a reply to the topic's first message unless
// it replies to another one.
func (s *Server) placeLocked(c *chatState, m *Message, sm *storedMessage, threadID int) error {
	if sm.replyTo != 0 {
		target := c.message(sm.replyTo)
		if target == nil {
			return refused("no message %d in chat %d", sm.replyTo, c.chat.ID)
		}
		if c.chat.IsForum && threadID == 0 {
			threadID = target.msg.MessageThreadID
		}
	}
	if threadID != 0 {
		if !c.chat.IsForum {
			return refused("chat %d is not a forum", c.chat.ID)
		}
		if c.topics[threadID] == nil {
			return refused("no topic %d in chat %d", threadID, c.chat.ID)
		}
		m.MessageThreadID = threadID
		m.IsTopicMessage = true
		if sm.replyTo == 0 {
			sm.replyTo = threadID
		}
	}
	return nil
}

// CreateTopic opens a forum topic as user from and returns the service
// message that starts it; its MessageID is the topic's thread ID.
func (s *Server) CreateTopic(from, chatID int64, name string) (Update, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, c, err := s.actorLocked(from, chatID)
	if err != nil {
		return Update{}, err
	}
	if !c.chat.IsForum {
		return Update{}, refused("chat %d is not a forum", chatID)
	}
	if n := utf16Len(name); n < 1 || n > 128 {
		return Update{}, refused("topic name must have 1 to 128 characters")
	}
	sm := s.openTopicLocked(c, &u.user, name, defaultTopicColor, "")
	upd, _ := s.enqueueLocked(Update{Message: ptr(c.view(sm))})
	return upd, nil
}

// openTopicLocked creates a topic and its service message.
func (s *Server) openTopicLocked(c *chatState, from *User, name string, color int, emoji string) *storedMessage {
	sender := *from
	sm := c.addMessage(storedMessage{msg: Message{
		From:              &sender,
		Date:              s.date(),
		IsTopicMessage:    true,
		ForumTopicCreated: &ForumTopicCreated{Name: name, IconColor: color, IconCustomEmojiID: emoji},
	}, byBot: from.ID == s.st.me.ID})
	sm.msg.MessageThreadID = sm.msg.MessageID
	c.topics[sm.msg.MessageID] = &ForumTopic{MessageThreadID: sm.msg.MessageID, Name: name, IconColor: color, IconCustomEmojiID: emoji}
	s.notifyLocked()
	return sm
}

// PressButton presses the inline button with callback data data under
// message messageID of chat chatID, as user from, and queues the
// callback_query update. The error wraps ErrRefused when the message has no
// such button or the user cannot see the chat.
func (s *Server) PressButton(from, chatID int64, messageID int, data string) (Update, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, c, err := s.actorLocked(from, chatID)
	if err != nil {
		return Update{}, err
	}
	sm := c.message(messageID)
	if sm == nil {
		return Update{}, refused("no message %d in chat %d", messageID, chatID)
	}
	if !hasButton(sm.msg.ReplyMarkup, data) {
		return Update{}, refused("message %d has no button with callback data %q", messageID, data)
	}
	s.st.nextCallbackID++
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%d", s.st.me.ID, chatID)
	q := CallbackQuery{
		ID:           strconv.FormatUint(uint64(s.st.me.ID)<<20+uint64(s.st.nextCallbackID), 10),
		From:         u.user,
		Message:      ptr(c.view(sm)),
		ChatInstance: strconv.FormatInt(int64(h.Sum64()>>1), 10),
		Data:         data,
	}
	s.st.callbacks[q.ID] = &callbackState{query: q}
	upd, _ := s.enqueueLocked(Update{CallbackQuery: &q})
	return upd, nil
}

func hasButton(mk *InlineKeyboardMarkup, data string) bool {
	if mk == nil {
		return false
	}
	for _, row := range mk.InlineKeyboard {
		for _, b := range row {
			if b.CallbackData != "" && b.CallbackData == data {
				return true
			}
		}
	}
	return false
}

// Block makes user userID block the bot: the bot gets a my_chat_member
// update, and its messages to the user fail with 403 "Forbidden: bot was
// blocked by the user" until Unblock.
func (s *Server) Block(userID int64) error { return s.setBlocked(userID, true) }

// Unblock lifts Block, with the my_chat_member update Telegram sends.
func (s *Server) Unblock(userID int64) error { return s.setBlocked(userID, false) }

func (s *Server) setBlocked(userID int64, blocked bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.st.users[userID]
	if !ok {
		return refused("no user %d", userID)
	}
	if u.blocked == blocked {
		return nil
	}
	u.blocked = blocked
	oldStatus, newStatus := "member", "kicked"
	if !blocked {
		oldStatus, newStatus = "kicked", "member"
		u.started = true
	}
	var zero int64
	member := func(status string) ChatMember {
		m := ChatMember{Status: status, User: s.st.me}
		if status == "kicked" {
			m.UntilDate = &zero
		}
		return m
	}
	s.enqueueLocked(Update{MyChatMember: &ChatMemberUpdated{
		Chat:          s.st.chats[userID].chat,
		From:          u.user,
		Date:          s.date(),
		OldChatMember: member(oldStatus),
		NewChatMember: member(newStatus),
	}})
	return nil
}

func ptr[T any](v T) *T { return &v }
