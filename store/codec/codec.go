// Package codec writes and reads the JSON of the records the stores handle
// on every update (tickets, events, outbox messages, journal entries,
// officials, question records) without reflection.
//
// The output is byte for byte what encoding/json writes for the same value,
// so data written by either path reads back with the other and existing
// stores need no migration. Reading takes a fast path for the JSON this
// package and encoding/json write; anything else (other spacing, keys in
// another case, unknown fields, escapes in a time) goes to json.Unmarshal,
// which decides. The tests hold both halves to encoding/json: random values
// encode identically, and any input the fast path accepts decodes as
// json.Unmarshal decodes it.
package codec

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/caunoi/caunoi"
)

// appendTicket appends the JSON of t to b, as json.Marshal writes it.
func appendTicket(b []byte, t *caunoi.Ticket) ([]byte, error) {
	var err error
	b = append(b, `{"Number":`...)
	b = appendString(b, t.Number)
	b = append(b, `,"Department":`...)
	b = appendString(b, t.Department)
	b = append(b, `,"Asker":`...)
	b = strconv.AppendInt(b, int64(t.Asker), 10)
	b = append(b, `,"Commune":`...)
	b = appendString(b, t.Commune)
	b = append(b, `,"Question":`...)
	b = appendString(b, t.Question)
	b = append(b, `,"Results":`...)
	if b, err = appendCandidates(b, t.Results); err != nil {
		return nil, err
	}
	b = append(b, `,"Attachments":`...)
	b = appendAttachments(b, t.Attachments)
	b = append(b, `,"Status":`...)
	b = appendString(b, string(t.Status))
	b = append(b, `,"Assignee":`...)
	b = strconv.AppendInt(b, int64(t.Assignee), 10)
	b = append(b, `,"IdemKey":`...)
	b = appendString(b, t.IdemKey)
	for _, f := range [...]struct {
		name string
		t    time.Time
	}{
		{`,"Created":`, t.Created},
		{`,"Updated":`, t.Updated},
		{`,"FirstResponseDue":`, t.FirstResponseDue},
		{`,"ResolutionDue":`, t.ResolutionDue},
		{`,"FirstResponse":`, t.FirstResponse},
		{`,"ResolvedAt":`, t.ResolvedAt},
	} {
		b = append(b, f.name...)
		if b, err = appendTime(b, f.t); err != nil {
			return nil, err
		}
	}
	b = append(b, `,"Rating":`...)
	b = strconv.AppendInt(b, int64(t.Rating), 10)
	b = append(b, `,"Applied":`...)
	b = appendStrings(b, t.Applied)
	return append(b, '}'), nil
}

// appendStrings appends a list of strings of any string type, or null.
func appendStrings[T ~string](b []byte, ss []T) []byte {
	if ss == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, string(s))
	}
	return append(b, ']')
}

// ticketSize is about the length of t's JSON, so that it is written into
// one allocation: the names, numbers and times, and the text. Escapes can
// make it longer; append then grows the buffer as usual.
func ticketSize(t *caunoi.Ticket) int {
	n := 512 + len(t.Number) + len(t.Department) + len(t.Commune) + len(t.Question) + len(t.IdemKey) + len(t.Status)
	n += candidatesSize(t.Results)
	for _, s := range t.Applied {
		n += 4 + len(s)
	}
	return n + attachmentsSize(t.Attachments)
}

func questionSize(q *caunoi.QuestionRecord) int {
	return 256 + len(q.ID) + len(q.Commune) + len(q.Text) + len(q.Version) + len(q.Escalated) + candidatesSize(q.Top)
}

func candidatesSize(cs []caunoi.Candidate) int {
	n := 0
	for i := range cs {
		c := &cs[i]
		n += 112 + len(c.PassageID) + len(c.EntryID) + len(c.Title) + len(c.Section)
	}
	return n
}

func eventSize(e *caunoi.Event) int {
	return 192 + len(e.Ticket) + len(e.Kind) + len(e.Text) + len(e.From) + len(e.To) + len(e.Department) + len(e.Key) + attachmentsSize(e.Attachments)
}

func attachmentsSize(as []caunoi.Attachment) int {
	n := 0
	for i := range as {
		a := &as[i]
		n += 64 + len(a.Kind) + len(a.Ref) + len(a.Name) + len(a.MIME)
	}
	return n
}

// appendEvent appends the JSON of e to b, as json.Marshal writes it.
func appendEvent(b []byte, e *caunoi.Event) ([]byte, error) {
	var err error
	b = append(b, `{"Ticket":`...)
	b = appendString(b, e.Ticket)
	b = append(b, `,"Seq":`...)
	b = strconv.AppendInt(b, int64(e.Seq), 10)
	b = append(b, `,"Kind":`...)
	b = appendString(b, string(e.Kind))
	b = append(b, `,"Actor":`...)
	b = strconv.AppendInt(b, int64(e.Actor), 10)
	b = append(b, `,"At":`...)
	if b, err = appendTime(b, e.At); err != nil {
		return nil, err
	}
	b = append(b, `,"Text":`...)
	b = appendString(b, e.Text)
	b = append(b, `,"Attachments":`...)
	b = appendAttachments(b, e.Attachments)
	b = append(b, `,"From":`...)
	b = appendString(b, string(e.From))
	b = append(b, `,"To":`...)
	b = appendString(b, string(e.To))
	b = append(b, `,"Department":`...)
	b = appendString(b, e.Department)
	b = append(b, `,"Key":`...)
	b = appendString(b, e.Key)
	return append(b, '}'), nil
}

func appendCandidates(b []byte, cs []caunoi.Candidate) ([]byte, error) {
	if cs == nil {
		return append(b, "null"...), nil
	}
	b = append(b, '[')
	for i := range cs {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = appendCandidate(b, &cs[i]); err != nil {
			return nil, err
		}
	}
	return append(b, ']'), nil
}

func appendCandidate(b []byte, c *caunoi.Candidate) ([]byte, error) {
	b = append(b, `{"PassageID":`...)
	b = appendString(b, c.PassageID)
	b = append(b, `,"EntryID":`...)
	b = appendString(b, c.EntryID)
	b = append(b, `,"Title":`...)
	b = appendString(b, c.Title)
	b = append(b, `,"Section":`...)
	b = appendString(b, c.Section)
	b = append(b, `,"Score":`...)
	b, err := appendFloat(b, c.Score)
	if err != nil {
		return nil, err
	}
	b = append(b, `,"Confidence":`...)
	b = strconv.AppendInt(b, int64(c.Confidence), 10)
	return append(b, '}'), nil
}

func appendAttachments(b []byte, as []caunoi.Attachment) []byte {
	if as == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i := range as {
		a := &as[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"Kind":`...)
		b = appendString(b, a.Kind)
		b = append(b, `,"Ref":`...)
		b = appendString(b, a.Ref)
		b = append(b, `,"Name":`...)
		b = appendString(b, a.Name)
		b = append(b, `,"MIME":`...)
		b = appendString(b, a.MIME)
		b = append(b, `,"Size":`...)
		b = strconv.AppendInt(b, a.Size, 10)
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendTime writes t as time.Time's MarshalJSON does: RFC 3339 with
// nanoseconds, quoted; years outside 0–9999 are an error there and here.
func appendTime(b []byte, t time.Time) ([]byte, error) {
	b = append(b, '"')
	b, err := t.AppendText(b)
	if err != nil {
		return nil, err
	}
	return append(b, '"'), nil
}

// appendFloat writes f as encoding/json writes a float64.
func appendFloat(b []byte, f float64) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, fmt.Errorf("json: unsupported value: %s", strconv.FormatFloat(f, 'g', -1, 64))
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// e-09 becomes e-9, as encoding/json writes it.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, nil
}

const hex = "0123456789abcdef"

// appendString writes s quoted as encoding/json does by default: <, > and &
// escaped for HTML, invalid UTF-8 as U+FFFD, U+2028 and U+2029 escaped.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// decode resets v and reads data into it with read, the fast path; when
// read refuses, json.Unmarshal reads data into v, reset again.
func decode[T any](data []byte, shared bool, v *T, read func(*decoder, *T) bool) error {
	var zero T
	*v = zero
	d := decoder{data: data, shared: shared}
	if read(&d, v) && d.end() {
		return nil
	}
	*v = zero
	return json.Unmarshal(data, v)
}

// decoder reads the compact JSON encoding/json writes. Every method reports
// false as soon as the input is anything else; the caller then starts over
// with json.Unmarshal.
type decoder struct {
	data []byte
	pos  int
	// shared says data is an immutable string's: a string without escapes
	// is then a view of it instead of a copy.
	shared bool
}

func (d *decoder) end() bool { return d.pos == len(d.data) }

func (d *decoder) byte(c byte) bool {
	if d.pos < len(d.data) && d.data[d.pos] == c {
		d.pos++
		return true
	}
	return false
}

func (d *decoder) literal(s string) bool {
	if len(d.data)-d.pos >= len(s) && string(d.data[d.pos:d.pos+len(s)]) == s {
		d.pos += len(s)
		return true
	}
	return false
}

// object reads {"key":value,...}, calling field with each key; field reads
// the value and reports false for a key it does not know. A key seen twice
// is left to encoding/json, which merges the second value into the first.
func (d *decoder) object(field func(key []byte) bool) bool {
	if !d.byte('{') {
		return false
	}
	if d.byte('}') {
		return true
	}
	var seen [24][]byte
	n := 0
	for {
		key, ok := d.key()
		if !ok || n == len(seen) || slices.ContainsFunc(seen[:n], func(k []byte) bool { return bytes.Equal(k, key) }) {
			return false
		}
		seen[n] = key
		n++
		if !d.byte(':') || !field(key) {
			return false
		}
		if d.byte('}') {
			return true
		}
		if !d.byte(',') {
			return false
		}
	}
}

// key reads an object key without escapes.
func (d *decoder) key() ([]byte, bool) {
	if !d.byte('"') {
		return nil, false
	}
	start := d.pos
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		if c == '"' {
			k := d.data[start:d.pos]
			d.pos++
			return k, true
		}
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			return nil, false
		}
		d.pos++
	}
	return nil, false
}

// array reads [value,...] or null, calling elem for each value.
func (d *decoder) array(elem func() bool) (null, ok bool) {
	if d.literal("null") {
		return true, true
	}
	if !d.byte('[') {
		return false, false
	}
	if d.byte(']') {
		return false, true
	}
	for {
		if !elem() {
			return false, false
		}
		if d.byte(']') {
			return false, true
		}
		if !d.byte(',') {
			return false, false
		}
	}
}

// string reads a JSON string, decoding escapes. Invalid UTF-8 and control
// characters leave it to encoding/json.
func (d *decoder) string() (string, bool) {
	if !d.byte('"') {
		return "", false
	}
	start := d.pos
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			raw := d.data[start:d.pos]
			d.pos++
			if !utf8.Valid(raw) {
				return "", false
			}
			if d.shared && len(raw) > 0 {
				return unsafe.String(&raw[0], len(raw)), true
			}
			return string(raw), true
		case c == '\\':
			return d.escaped(start)
		case c < 0x20:
			return "", false
		}
		d.pos++
	}
	return "", false
}

// escaped finishes a string that started at start and has an escape at
// d.pos.
func (d *decoder) escaped(start int) (string, bool) {
	if !utf8.Valid(d.data[start:d.pos]) {
		return "", false
	}
	out := make([]byte, 0, d.pos-start+16)
	out = append(out, d.data[start:d.pos]...)
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			d.pos++
			return unsafe.String(unsafe.SliceData(out), len(out)), true // out is this string's alone
		case c < 0x20:
			return "", false
		case c != '\\':
			r, size := utf8.DecodeRune(d.data[d.pos:])
			if r == utf8.RuneError && size == 1 {
				return "", false
			}
			out = append(out, d.data[d.pos:d.pos+size]...)
			d.pos += size
			continue
		}
		d.pos++
		if d.pos >= len(d.data) {
			return "", false
		}
		e := d.data[d.pos]
		d.pos++
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := d.hex4()
			if !ok {
				return "", false
			}
			if utf16IsSurrogate(r) {
				// A pair becomes one rune; anything else is U+FFFD, as
				// encoding/json decodes it.
				save := d.pos
				if d.literal(`\u`) {
					if r2, ok := d.hex4(); ok && r < 0xDC00 && r2 >= 0xDC00 && r2 < 0xE000 {
						out = utf8.AppendRune(out, 0x10000+(r-0xD800)<<10+(r2-0xDC00))
						continue
					}
				}
				d.pos = save
				r = utf8.RuneError
			}
			out = utf8.AppendRune(out, r)
		default:
			return "", false
		}
	}
	return "", false
}

func utf16IsSurrogate(r rune) bool { return r >= 0xD800 && r < 0xE000 }

func (d *decoder) hex4() (rune, bool) {
	if len(d.data)-d.pos < 4 {
		return 0, false
	}
	var r rune
	for _, c := range d.data[d.pos : d.pos+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	d.pos += 4
	return r, true
}

// number returns the bytes of a JSON number; integer says it has no
// fraction or exponent.
func (d *decoder) number() (tok []byte, integer, ok bool) {
	start := d.pos
	d.byte('-')
	switch {
	case d.byte('0'):
	case d.pos < len(d.data) && '1' <= d.data[d.pos] && d.data[d.pos] <= '9':
		d.digits()
	default:
		return nil, false, false
	}
	integer = true
	if d.byte('.') {
		integer = false
		if !d.digits() {
			return nil, false, false
		}
	}
	if d.byte('e') || d.byte('E') {
		integer = false
		if !d.byte('+') {
			d.byte('-')
		}
		if !d.digits() {
			return nil, false, false
		}
	}
	return d.data[start:d.pos], integer, true
}

// digits reads one or more decimal digits.
func (d *decoder) digits() bool {
	start := d.pos
	for d.pos < len(d.data) && '0' <= d.data[d.pos] && d.data[d.pos] <= '9' {
		d.pos++
	}
	return d.pos > start
}

// int reads an integer that fits in bits bits.
func (d *decoder) int(bits int) (int64, bool) {
	tok, integer, ok := d.number()
	if !ok || !integer {
		return 0, false
	}
	n, err := strconv.ParseInt(string(tok), 10, bits)
	return n, err == nil
}

func (d *decoder) float() (float64, bool) {
	tok, _, ok := d.number()
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(tok), 64)
	return f, err == nil
}

// strs reads a list of strings of any string type, or null.
func strs[T ~string](d *decoder) ([]T, bool) {
	var ss []T
	null, ok := d.array(func() bool {
		var s T
		ok := str(d, &s)
		ss = append(ss, s)
		return ok
	})
	if !null && ss == nil {
		ss = []T{}
	}
	return ss, ok
}

// str reads a string into a field of any string type.
func str[T ~string](d *decoder, p *T) bool {
	s, ok := d.string()
	*p = T(s)
	return ok
}

// integer reads an integer of bits bits into a field of any integer type.
func integer[T ~int | ~int64](d *decoder, p *T, bits int) bool {
	n, ok := d.int(bits)
	*p = T(n)
	return ok
}

// time reads a quoted RFC 3339 time without escapes, as time.Time's
// UnmarshalJSON does.
func (d *decoder) time() (time.Time, bool) {
	if !d.byte('"') {
		return time.Time{}, false
	}
	start := d.pos
	for d.pos < len(d.data) && d.data[d.pos] != '"' {
		if c := d.data[d.pos]; c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			return time.Time{}, false
		}
		d.pos++
	}
	if d.pos >= len(d.data) {
		return time.Time{}, false
	}
	var t time.Time
	if err := t.UnmarshalText(d.data[start:d.pos]); err != nil {
		return time.Time{}, false
	}
	d.pos++
	return t, true
}

func (d *decoder) ticket(t *caunoi.Ticket) bool {
	return d.object(func(key []byte) bool {
		var ok bool
		switch string(key) {
		case "Number":
			t.Number, ok = d.string()
		case "Department":
			t.Department, ok = d.string()
		case "Asker":
			ok = integer(d, &t.Asker, 64)
		case "Commune":
			t.Commune, ok = d.string()
		case "Question":
			t.Question, ok = d.string()
		case "Results":
			t.Results, ok = d.candidates()
		case "Attachments":
			t.Attachments, ok = d.attachments()
		case "Status":
			ok = str(d, &t.Status)
		case "Assignee":
			ok = integer(d, &t.Assignee, 64)
		case "IdemKey":
			t.IdemKey, ok = d.string()
		case "Created":
			t.Created, ok = d.time()
		case "Updated":
			t.Updated, ok = d.time()
		case "FirstResponseDue":
			t.FirstResponseDue, ok = d.time()
		case "ResolutionDue":
			t.ResolutionDue, ok = d.time()
		case "FirstResponse":
			t.FirstResponse, ok = d.time()
		case "ResolvedAt":
			t.ResolvedAt, ok = d.time()
		case "Rating":
			ok = integer(d, &t.Rating, strconv.IntSize)
		case "Applied":
			t.Applied, ok = strs[string](d)
		}
		return ok
	})
}

// candidates reads an array of candidates or null.
func (d *decoder) candidates() ([]caunoi.Candidate, bool) {
	var cs []caunoi.Candidate
	null, ok := d.array(func() bool {
		var c caunoi.Candidate
		if !d.candidate(&c) {
			return false
		}
		cs = append(cs, c)
		return true
	})
	if !null && cs == nil {
		cs = []caunoi.Candidate{}
	}
	return cs, ok
}

func (d *decoder) candidate(c *caunoi.Candidate) bool {
	return d.object(func(key []byte) bool {
		var ok bool
		switch string(key) {
		case "PassageID":
			c.PassageID, ok = d.string()
		case "EntryID":
			c.EntryID, ok = d.string()
		case "Title":
			c.Title, ok = d.string()
		case "Section":
			c.Section, ok = d.string()
		case "Score":
			c.Score, ok = d.float()
		case "Confidence":
			ok = integer(d, &c.Confidence, strconv.IntSize)
		}
		return ok
	})
}

func (d *decoder) attachments() ([]caunoi.Attachment, bool) {
	var as []caunoi.Attachment
	null, ok := d.array(func() bool {
		var a caunoi.Attachment
		ok := d.object(func(key []byte) bool {
			var ok bool
			switch string(key) {
			case "Kind":
				a.Kind, ok = d.string()
			case "Ref":
				a.Ref, ok = d.string()
			case "Name":
				a.Name, ok = d.string()
			case "MIME":
				a.MIME, ok = d.string()
			case "Size":
				a.Size, ok = d.int(64)
			}
			return ok
		})
		as = append(as, a)
		return ok
	})
	if !null && as == nil {
		as = []caunoi.Attachment{}
	}
	return as, ok
}

func (d *decoder) event(e *caunoi.Event) bool {
	return d.object(func(key []byte) bool {
		var ok bool
		switch string(key) {
		case "Ticket":
			e.Ticket, ok = d.string()
		case "Seq":
			ok = integer(d, &e.Seq, strconv.IntSize)
		case "Kind":
			ok = str(d, &e.Kind)
		case "Actor":
			ok = integer(d, &e.Actor, 64)
		case "At":
			e.At, ok = d.time()
		case "Text":
			e.Text, ok = d.string()
		case "Attachments":
			e.Attachments, ok = d.attachments()
		case "From":
			ok = str(d, &e.From)
		case "To":
			ok = str(d, &e.To)
		case "Department":
			e.Department, ok = d.string()
		case "Key":
			e.Key, ok = d.string()
		}
		return ok
	})
}

// appendOutMessage appends the JSON of m to b, as json.Marshal writes it.
func appendOutMessage(b []byte, m *caunoi.OutMessage) ([]byte, error) {
	b = append(b, `{"Key":`...)
	b = appendString(b, m.Key)
	b = append(b, `,"Chat":`...)
	b = strconv.AppendInt(b, m.Chat, 10)
	b = append(b, `,"Payload":`...)
	b = appendBytes(b, m.Payload)
	b = append(b, `,"Created":`...)
	b, err := appendTime(b, m.Created)
	if err != nil {
		return nil, err
	}
	b = append(b, `,"NotBefore":`...)
	if b, err = appendTime(b, m.NotBefore); err != nil {
		return nil, err
	}
	b = append(b, `,"Attempts":`...)
	b = strconv.AppendInt(b, int64(m.Attempts), 10)
	return append(b, '}'), nil
}

// appendJournalEntry appends the JSON of e to b, as json.Marshal writes it.
func appendJournalEntry(b []byte, e *caunoi.JournalEntry) ([]byte, error) {
	b = append(b, `{"ID":`...)
	b = strconv.AppendInt(b, e.ID, 10)
	b = append(b, `,"Chat":`...)
	b = strconv.AppendInt(b, e.Chat, 10)
	b = append(b, `,"Payload":`...)
	b = appendBytes(b, e.Payload)
	b = append(b, `,"Received":`...)
	b, err := appendTime(b, e.Received)
	if err != nil {
		return nil, err
	}
	return append(b, '}'), nil
}

// appendBytes writes p as encoding/json writes a []byte: standard base64,
// quoted, or null.
func appendBytes(b []byte, p []byte) []byte {
	if p == nil {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = base64.StdEncoding.AppendEncode(b, p)
	return append(b, '"')
}

// Marshal is json.Marshal, on the fast path for tickets, events, outbox
// messages, journal entries, officials and question records. A value JSON
// cannot hold (a NaN score, a year after 9999) is caunoi.ErrInvalid.
func Marshal(v any) ([]byte, error) {
	var (
		data []byte
		err  error
	)
	switch v := v.(type) {
	case caunoi.Ticket:
		data, err = appendTicket(make([]byte, 0, ticketSize(&v)), &v)
	case *caunoi.Ticket:
		data, err = appendTicket(make([]byte, 0, ticketSize(v)), v)
	case caunoi.Event:
		data, err = appendEvent(make([]byte, 0, eventSize(&v)), &v)
	case *caunoi.Event:
		data, err = appendEvent(make([]byte, 0, eventSize(v)), v)
	case caunoi.OutMessage:
		data, err = appendOutMessage(make([]byte, 0, 160+len(v.Key)+base64.StdEncoding.EncodedLen(len(v.Payload))), &v)
	case *caunoi.OutMessage:
		data, err = appendOutMessage(make([]byte, 0, 160+len(v.Key)+base64.StdEncoding.EncodedLen(len(v.Payload))), v)
	case caunoi.JournalEntry:
		data, err = appendJournalEntry(make([]byte, 0, 96+base64.StdEncoding.EncodedLen(len(v.Payload))), &v)
	case *caunoi.JournalEntry:
		data, err = appendJournalEntry(make([]byte, 0, 96+base64.StdEncoding.EncodedLen(len(v.Payload))), v)
	case caunoi.Official:
		data, err = appendOfficial(nil, &v)
	case *caunoi.Official:
		data, err = appendOfficial(nil, v)
	case caunoi.QuestionRecord:
		data, err = appendQuestion(make([]byte, 0, questionSize(&v)), &v)
	case *caunoi.QuestionRecord:
		data, err = appendQuestion(make([]byte, 0, questionSize(v)), v)
	default:
		data, err = json.Marshal(v)
	}
	if err != nil {
		return nil, fmt.Errorf("encode %T: %v: %w", v, err, caunoi.ErrInvalid)
	}
	return data, nil
}

// AppendTicket appends to dst the encoding Marshal gives *t, so that a
// store can reuse a buffer. Unlike Marshal it leaves t where the caller
// keeps it: a ticket passed as an interface value goes to the heap, one
// allocation per call on a store's busiest path.
func AppendTicket(dst []byte, t *caunoi.Ticket) ([]byte, error) {
	data, err := appendTicket(dst, t)
	if err != nil {
		return nil, fmt.Errorf("encode ticket: %v: %w", err, caunoi.ErrInvalid)
	}
	return data, nil
}

// AppendEvent appends to dst the encoding Marshal gives *e, as AppendTicket
// does for a ticket.
func AppendEvent(dst []byte, e *caunoi.Event) ([]byte, error) {
	data, err := appendEvent(dst, e)
	if err != nil {
		return nil, fmt.Errorf("encode event: %v: %w", err, caunoi.ErrInvalid)
	}
	return data, nil
}

// UnmarshalTicketString is UnmarshalString into *t, leaving t where the
// caller keeps it, as AppendTicket does.
func UnmarshalTicketString(s string, t *caunoi.Ticket) error {
	data := unsafe.Slice(unsafe.StringData(s), len(s))
	*t = caunoi.Ticket{}
	d := decoder{data: data, shared: true}
	if d.ticket(t) && d.end() {
		return nil
	}
	var slow caunoi.Ticket // on the heap, and only on this path
	err := json.Unmarshal(data, &slow)
	*t = slow
	return err
}

// Unmarshal is json.Unmarshal, on the fast path for tickets, events, outbox
// messages, journal entries, officials and question records, which it
// resets first.
func Unmarshal(data []byte, v any) error { return unmarshal(data, false, v) }

// UnmarshalString is Unmarshal of the JSON in s. On the fast path the
// strings it decodes share s's memory instead of copying it, so a record
// read from a store costs one buffer, not one per field; they keep all of s
// alive while any of them is.
func UnmarshalString(s string, v any) error {
	return unmarshal(unsafe.Slice(unsafe.StringData(s), len(s)), true, v)
}

func unmarshal(data []byte, shared bool, v any) error {
	switch v := v.(type) {
	case *caunoi.Ticket:
		return decode(data, shared, v, (*decoder).ticket)
	case *caunoi.Event:
		return decode(data, shared, v, (*decoder).event)
	case *caunoi.OutMessage:
		return decode(data, shared, v, (*decoder).outMessage)
	case *caunoi.JournalEntry:
		return decode(data, shared, v, (*decoder).journalEntry)
	case *caunoi.Official:
		return decode(data, shared, v, (*decoder).official)
	case *caunoi.QuestionRecord:
		return decode(data, shared, v, (*decoder).question)
	}
	return json.Unmarshal(data, v)
}

// AroundNumber encodes v, a Ticket or an Event (or a pointer to one)
// whose number (Number, Ticket) is empty, and splits the JSON where the
// number goes, so that a store can put in a number it learns only when it
// stores: before, the number JSON-escaped, after.
func AroundNumber(v any) (before, after []byte, err error) {
	var head string
	switch v := v.(type) {
	case caunoi.Ticket:
		return AroundNumber(&v)
	case caunoi.Event:
		return AroundNumber(&v)
	case *caunoi.Ticket:
		if v.Number != "" {
			return nil, nil, fmt.Errorf("encode ticket: it has a number: %w", caunoi.ErrInvalid)
		}
		head = `{"Number":"`
	case *caunoi.Event:
		if v.Ticket != "" {
			return nil, nil, fmt.Errorf("encode event: it has a ticket number: %w", caunoi.ErrInvalid)
		}
		head = `{"Ticket":"`
	default:
		return nil, nil, fmt.Errorf("encode %T: not a ticket or an event: %w", v, caunoi.ErrInvalid)
	}
	data, err := Marshal(v)
	if err != nil {
		return nil, nil, err
	}
	return data[:len(head)], data[len(head):], nil
}

// bytes reads a base64 string or null, as encoding/json decodes a []byte.
func (d *decoder) bytes() ([]byte, bool) {
	if d.literal("null") {
		return nil, true
	}
	if !d.byte('"') {
		return nil, false
	}
	start := d.pos
	for d.pos < len(d.data) && d.data[d.pos] != '"' {
		if c := d.data[d.pos]; c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			return nil, false
		}
		d.pos++
	}
	if d.pos >= len(d.data) {
		return nil, false
	}
	src := d.data[start:d.pos]
	d.pos++
	out := make([]byte, base64.StdEncoding.DecodedLen(len(src)))
	n, err := base64.StdEncoding.Decode(out, src)
	if err != nil {
		return nil, false
	}
	return out[:n], true
}

func (d *decoder) outMessage(m *caunoi.OutMessage) bool {
	return d.object(func(key []byte) bool {
		var ok bool
		switch string(key) {
		case "Key":
			m.Key, ok = d.string()
		case "Chat":
			m.Chat, ok = d.int(64)
		case "Payload":
			m.Payload, ok = d.bytes()
		case "Created":
			m.Created, ok = d.time()
		case "NotBefore":
			m.NotBefore, ok = d.time()
		case "Attempts":
			ok = integer(d, &m.Attempts, strconv.IntSize)
		}
		return ok
	})
}

func (d *decoder) journalEntry(e *caunoi.JournalEntry) bool {
	return d.object(func(key []byte) bool {
		var ok bool
		switch string(key) {
		case "ID":
			e.ID, ok = d.int(64)
		case "Chat":
			e.Chat, ok = d.int(64)
		case "Payload":
			e.Payload, ok = d.bytes()
		case "Received":
			e.Received, ok = d.time()
		}
		return ok
	})
}

// appendOfficial appends the JSON of o to b, as json.Marshal writes it.
func appendOfficial(b []byte, o *caunoi.Official) ([]byte, error) {
	b = append(b, `{"ID":`...)
	b = strconv.AppendInt(b, int64(o.ID), 10)
	b = append(b, `,"Name":`...)
	b = appendString(b, o.Name)
	b = append(b, `,"Position":`...)
	b = appendString(b, o.Position)
	b = append(b, `,"Commune":`...)
	b = appendString(b, o.Commune)
	b = append(b, `,"Department":`...)
	b = appendString(b, o.Department)
	b = append(b, `,"Roles":`...)
	b = appendStrings(b, o.Roles)
	b = append(b, `,"Registered":`...)
	b, err := appendTime(b, o.Registered)
	if err != nil {
		return nil, err
	}
	return append(b, '}'), nil
}

func (d *decoder) official(o *caunoi.Official) bool {
	return d.object(func(key []byte) bool {
		var ok bool
		switch string(key) {
		case "ID":
			ok = integer(d, &o.ID, 64)
		case "Name":
			o.Name, ok = d.string()
		case "Position":
			o.Position, ok = d.string()
		case "Commune":
			o.Commune, ok = d.string()
		case "Department":
			o.Department, ok = d.string()
		case "Roles":
			o.Roles, ok = strs[caunoi.Role](d)
		case "Registered":
			o.Registered, ok = d.time()
		}
		return ok
	})
}

// appendQuestion appends the JSON of q to b, as json.Marshal writes it.
func appendQuestion(b []byte, q *caunoi.QuestionRecord) ([]byte, error) {
	var err error
	b = append(b, `{"ID":`...)
	b = appendString(b, q.ID)
	b = append(b, `,"Asker":`...)
	b = strconv.AppendInt(b, int64(q.Asker), 10)
	b = append(b, `,"Commune":`...)
	b = appendString(b, q.Commune)
	b = append(b, `,"Text":`...)
	b = appendString(b, q.Text)
	b = append(b, `,"Confidence":`...)
	b = strconv.AppendInt(b, int64(q.Confidence), 10)
	b = append(b, `,"Top":`...)
	if b, err = appendCandidates(b, q.Top); err != nil {
		return nil, err
	}
	b = append(b, `,"Version":`...)
	b = appendString(b, q.Version)
	b = append(b, `,"At":`...)
	if b, err = appendTime(b, q.At); err != nil {
		return nil, err
	}
	b = append(b, `,"Helpful":`...)
	switch {
	case q.Helpful == nil:
		b = append(b, "null"...)
	case *q.Helpful:
		b = append(b, "true"...)
	default:
		b = append(b, "false"...)
	}
	b = append(b, `,"Escalated":`...)
	b = appendString(b, q.Escalated)
	return append(b, '}'), nil
}

func (d *decoder) question(q *caunoi.QuestionRecord) bool {
	return d.object(func(key []byte) bool {
		var ok bool
		switch string(key) {
		case "ID":
			q.ID, ok = d.string()
		case "Asker":
			ok = integer(d, &q.Asker, 64)
		case "Commune":
			q.Commune, ok = d.string()
		case "Text":
			q.Text, ok = d.string()
		case "Confidence":
			ok = integer(d, &q.Confidence, strconv.IntSize)
		case "Top":
			q.Top, ok = d.candidates()
		case "Version":
			q.Version, ok = d.string()
		case "At":
			q.At, ok = d.time()
		case "Helpful":
			switch {
			case d.literal("null"):
				q.Helpful, ok = nil, true
			case d.literal("true"):
				q.Helpful, ok = new(true), true
			case d.literal("false"):
				q.Helpful, ok = new(false), true
			}
		case "Escalated":
			q.Escalated, ok = d.string()
		}
		return ok
	})
}

// Reader gives records kept outside this package the same fast path: it
// reads the compact JSON encoding/json writes, and each method reports false
// as soon as the input is anything else, when the caller should start over
// with json.Unmarshal. An object with a key seen twice is refused too.
type Reader struct{ d decoder }

// NewReader returns a Reader at the start of data.
func NewReader(data []byte) *Reader { return &Reader{decoder{data: data}} }

// Object reads an object, calling field after each key with the Reader at
// the key's value; field reads the value and reports false to refuse.
func (r *Reader) Object(field func(key []byte) bool) bool { return r.d.object(field) }

// Array reads an array, calling elem at each element, or null.
func (r *Reader) Array(elem func() bool) (null, ok bool) { return r.d.array(elem) }

// Text reads a string, escapes decoded.
func (r *Reader) Text() (string, bool) { return r.d.string() }

// Int reads an integer that fits in bits bits.
func (r *Reader) Int(bits int) (int64, bool) { return r.d.int(bits) }

// Bool reads true or false.
func (r *Reader) Bool() (v, ok bool) {
	if r.d.literal("true") {
		return true, true
	}
	return false, r.d.literal("false")
}

// End reports whether all the input has been read.
func (r *Reader) End() bool { return r.d.end() }

// AppendString appends s to b as a JSON string, escaped as encoding/json
// escapes it.
func AppendString(b []byte, s string) []byte { return appendString(b, s) }
