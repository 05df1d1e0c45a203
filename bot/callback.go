package bot

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
)

// action is what an inline button does. The values are part of the wire
// format of callback data: never renumber them.
type action byte

const (
	actHelpful     action = 1  // "Đã rõ" on an answer; arg: question id
	actFull        action = 2  // "Xem đầy đủ"; arg: question id
	actMore        action = 3  // "Kết quả khác"; arg: question id
	actAsk         action = 4  // "Hỏi cán bộ Sở"; arg: question id
	actCandidate   action = 5  // a candidate title; arg: question id + "/" + hit index
	actDept        action = 6  // choose the department of a draft; arg: department code
	actConfirm     action = 7  // send the draft ticket; arg: draft id
	actCancel      action = 8  // drop the draft; arg: draft id
	actClaim       action = 9  // staff: "Nhận xử lý"; arg: ticket number
	actNeedInfo    action = 10 // staff: "Cần thêm thông tin"; arg: ticket number
	actTransfer    action = 11 // staff: "Chuyển Sở"; arg: ticket number
	actResolve     action = 12 // staff: "Đã giải quyết"; arg: ticket number
	actTransferTo  action = 13 // staff: the target department; arg: ticket + "/" + department
	actSolved      action = 14 // official: "Đã giải quyết"; arg: ticket number
	actReopen      action = 15 // official: "Chưa, hỏi thêm"; arg: ticket number
	actRate        action = 16 // official: rating; arg: ticket + "/" + 1..5
	actDraft       action = 17 // staff or editor: "Thêm vào sổ tay"; arg: ticket number
	actNotHelpful  action = 18 // "Chưa đúng ý"; arg: question id
	actPickDept    action = 19 // official: change the department; arg: draft id
	maxAction             = actPickDept
	callbackVer    byte   = 1
	callbackMACLen        = 8
	// maxCallbackArg keeps the encoded data within Telegram's 64 bytes:
	// base64 of 2 + 36 + 8 bytes is 62 characters.
	maxCallbackArg = 36
)

// callback is the decoded content of an inline button.
type callback struct {
	Action action
	Arg    string
}

// Errors from decoding callback data. Callback data is user input: a client
// can send any bytes, so every failure is expected and reported, never a panic.
var (
	errCallbackFormat = errors.New("callback data malformed")
	errCallbackMAC    = errors.New("callback data signature mismatch")
)

// signer encodes and verifies callback data with HMAC-SHA256 truncated to
// 64 bits, bound to the chat the button was sent to, so that data copied from
// one chat or forged by hand is rejected. A signer is safe for concurrent use.
type signer struct {
	key []byte
}

func newSigner(key []byte) (*signer, error) {
	if len(key) < 16 {
		return nil, fmt.Errorf("callback signing key must be at least 16 bytes, got %d", len(key))
	}
	return &signer{key: append([]byte(nil), key...)}, nil
}

func (s *signer) mac(chat int64, body []byte) []byte {
	h := hmac.New(sha256.New, s.key)
	var c [8]byte
	binary.BigEndian.PutUint64(c[:], uint64(chat))
	h.Write(c[:])
	h.Write(body)
	return h.Sum(nil)[:callbackMACLen]
}

// encode returns the callback data for c, to be sent to chat.
func (s *signer) encode(chat int64, c callback) (string, error) {
	if c.Action == 0 || c.Action > maxAction {
		return "", fmt.Errorf("encode callback: unknown action %d", c.Action)
	}
	if len(c.Arg) > maxCallbackArg {
		return "", fmt.Errorf("encode callback: argument %q longer than %d bytes", c.Arg, maxCallbackArg)
	}
	body := make([]byte, 0, 2+len(c.Arg)+callbackMACLen)
	body = append(body, callbackVer, byte(c.Action))
	body = append(body, c.Arg...)
	body = append(body, s.mac(chat, body)...)
	return base64.RawURLEncoding.EncodeToString(body), nil
}

// decode verifies data received in chat and returns its content.
func (s *signer) decode(chat int64, data string) (callback, error) {
	if len(data) > 64 {
		return callback{}, errCallbackFormat
	}
	for i := 0; i < len(data); i++ {
		// The decoder skips line breaks; accept only the alphabet itself.
		c := data[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return callback{}, errCallbackFormat
		}
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(data)
	if err != nil || len(raw) < 2+callbackMACLen {
		return callback{}, errCallbackFormat
	}
	body, sum := raw[:len(raw)-callbackMACLen], raw[len(raw)-callbackMACLen:]
	if !hmac.Equal(sum, s.mac(chat, body)) {
		return callback{}, errCallbackMAC
	}
	if body[0] != callbackVer || body[1] == 0 || action(body[1]) > maxAction {
		return callback{}, errCallbackFormat
	}
	return callback{Action: action(body[1]), Arg: string(body[2:])}, nil
}
