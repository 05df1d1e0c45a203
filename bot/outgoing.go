package bot

import (
	"encoding/json"
	"fmt"
)

// outKind is what an outgoing item asks Telegram to do.
type outKind string

const (
	outText     outKind = "text"     // sendMessage
	outPhoto    outKind = "photo"    // sendPhoto with a file_id
	outDocument outKind = "document" // sendDocument with a file_id
	outEdit     outKind = "edit"     // editMessageText
	outMarkup   outKind = "markup"   // editMessageReplyMarkup
)

// button is one inline button with signed callback data.
type button struct {
	Text string `json:"t"`
	Data string `json:"d"`
}

// outgoing is one message to deliver. It is stored in the outbox as JSON
// before any attempt, so that a crash between deciding and sending loses
// nothing; the outbox key makes a replayed decision store it once.
type outgoing struct {
	Kind     outKind    `json:"k"`
	Chat     int64      `json:"c"`
	Group    bool       `json:"g,omitempty"` // the chat is a group: the group window applies
	Thread   int        `json:"th,omitempty"`
	Text     string     `json:"x,omitempty"` // Telegram HTML, or the caption
	ReplyTo  int        `json:"r,omitempty"`
	Message  int        `json:"m,omitempty"` // the message to edit
	File     string     `json:"f,omitempty"` // file_id for photo and document
	Keyboard [][]button `json:"kb,omitempty"`
	// Topic asks for a forum topic with this name to be created first, and
	// the message posted in it. The topic is made once per TopicKey.
	Topic    string `json:"tp,omitempty"`
	TopicKey string `json:"tk,omitempty"`
	// Bind records, once sent, which ticket the message belongs to, so that
	// replies to it reach that ticket.
	Bind string `json:"b,omitempty"`
}

func (o outgoing) marshal() ([]byte, error) {
	b, err := json.Marshal(o)
	if err != nil {
		return nil, fmt.Errorf("marshal outgoing: %w", err)
	}
	return b, nil
}

func unmarshalOutgoing(b []byte) (outgoing, error) {
	var o outgoing
	if err := json.Unmarshal(b, &o); err != nil {
		return outgoing{}, fmt.Errorf("unmarshal outgoing: %w", err)
	}
	return o, nil
}
