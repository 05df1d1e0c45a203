package bot

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/caunoi/caunoi/store/codec"
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

// marshal writes o as json.Marshal does, without reflection: every message
// the bot sends is written once and read back by the sender.
func (o outgoing) marshal() []byte {
	b := make([]byte, 0, 64+len(o.Text))
	b = append(b, `{"k":`...)
	b = codec.AppendString(b, string(o.Kind))
	b = append(b, `,"c":`...)
	b = strconv.AppendInt(b, o.Chat, 10)
	if o.Group {
		b = append(b, `,"g":true`...)
	}
	b = appendIntField(b, `,"th":`, o.Thread)
	b = appendStringField(b, `,"x":`, o.Text)
	b = appendIntField(b, `,"r":`, o.ReplyTo)
	b = appendIntField(b, `,"m":`, o.Message)
	b = appendStringField(b, `,"f":`, o.File)
	if len(o.Keyboard) > 0 {
		b = append(b, `,"kb":[`...)
		for i, row := range o.Keyboard {
			if i > 0 {
				b = append(b, ',')
			}
			if row == nil {
				b = append(b, "null"...)
				continue
			}
			b = append(b, '[')
			for j, btn := range row {
				if j > 0 {
					b = append(b, ',')
				}
				b = append(b, `{"t":`...)
				b = codec.AppendString(b, btn.Text)
				b = append(b, `,"d":`...)
				b = codec.AppendString(b, btn.Data)
				b = append(b, '}')
			}
			b = append(b, ']')
		}
		b = append(b, ']')
	}
	b = appendStringField(b, `,"tp":`, o.Topic)
	b = appendStringField(b, `,"tk":`, o.TopicKey)
	b = appendStringField(b, `,"b":`, o.Bind)
	return append(b, '}')
}

func appendIntField(b []byte, key string, v int) []byte {
	if v == 0 {
		return b
	}
	return strconv.AppendInt(append(b, key...), int64(v), 10)
}

func appendStringField(b []byte, key, v string) []byte {
	if v == "" {
		return b
	}
	return codec.AppendString(append(b, key...), v)
}

// unmarshalOutgoing reads what marshal wrote on a fast path, and anything
// else (a payload written by another version, say) with json.Unmarshal.
func unmarshalOutgoing(b []byte) (outgoing, error) {
	var o outgoing
	r := codec.NewReader(b)
	if readOutgoing(r, &o) && r.End() {
		return o, nil
	}
	o = outgoing{}
	if err := json.Unmarshal(b, &o); err != nil {
		return outgoing{}, fmt.Errorf("unmarshal outgoing: %w", err)
	}
	return o, nil
}

func readOutgoing(r *codec.Reader, o *outgoing) bool {
	integer := func(p *int) bool {
		n, ok := r.Int(strconv.IntSize)
		*p = int(n)
		return ok
	}
	return r.Object(func(key []byte) bool {
		var ok bool
		switch string(key) {
		case "k":
			var k string
			k, ok = r.Text()
			o.Kind = outKind(k)
		case "c":
			o.Chat, ok = r.Int(64)
		case "g":
			o.Group, ok = r.Bool()
		case "th":
			ok = integer(&o.Thread)
		case "x":
			o.Text, ok = r.Text()
		case "r":
			ok = integer(&o.ReplyTo)
		case "m":
			ok = integer(&o.Message)
		case "f":
			o.File, ok = r.Text()
		case "kb":
			var null bool
			null, ok = r.Array(func() bool {
				var row []button
				null, ok := r.Array(func() bool {
					var btn button
					ok := r.Object(func(key []byte) bool {
						var ok bool
						switch string(key) {
						case "t":
							btn.Text, ok = r.Text()
						case "d":
							btn.Data, ok = r.Text()
						}
						return ok
					})
					row = append(row, btn)
					return ok
				})
				if !null && row == nil {
					row = []button{}
				}
				o.Keyboard = append(o.Keyboard, row)
				return ok
			})
			if null {
				o.Keyboard = nil
			} else if o.Keyboard == nil {
				o.Keyboard = [][]button{}
			}
		case "tp":
			o.Topic, ok = r.Text()
		case "tk":
			o.TopicKey, ok = r.Text()
		case "b":
			o.Bind, ok = r.Text()
		}
		return ok
	})
}
