package codec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/caunoi/caunoi"
)

// fill sets every exported field of the value v points to at random,
// through reflection, so that a field added to Ticket or Event later is
// filled too and the comparisons below catch a codec that misses it.
func fill(r *rand.Rand, v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			if r.IntN(3) == 0 {
				return
			}
			v.Set(reflect.New(v.Type().Elem()))
		}
		fill(r, v.Elem())
	case reflect.Bool:
		v.SetBool(r.IntN(2) == 0)
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(randTime(r)))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(r, v.Field(i))
			}
		}
	case reflect.String:
		v.SetString(randString(r))
	case reflect.Int, reflect.Int64, reflect.Int32:
		switch r.IntN(4) {
		case 0:
			v.SetInt(0)
		case 1:
			v.SetInt(r.Int64N(1000) - 500)
		case 2:
			v.SetInt(math.MaxInt64 >> (64 - v.Type().Bits()))
		default:
			v.SetInt(r.Int64() >> (64 - v.Type().Bits()))
		}
	case reflect.Uint8:
		v.SetUint(r.Uint64N(256))
	case reflect.Float64:
		f := []float64{0, 1, -1.5, 3.25, 1e-7, 1e21, 123456789.125, 1e-300, -2.5e22, 5e-324, math.MaxFloat64}[r.IntN(11)]
		if r.IntN(2) == 0 {
			f = (r.Float64() - 0.5) * math.Pow(10, float64(r.IntN(50)-25))
		}
		v.SetFloat(f)
	case reflect.Slice:
		switch r.IntN(4) {
		case 0:
			v.SetZero()
		case 1:
			v.Set(reflect.MakeSlice(v.Type(), 0, 0))
		default:
			n := 1 + r.IntN(4)
			s := reflect.MakeSlice(v.Type(), n, n)
			for i := range n {
				fill(r, s.Index(i))
			}
			v.Set(s)
		}
	default:
		panic("fill: add a case for " + v.Type().String())
	}
}

var pieces = []string{
	"", "a", "Hồ sơ", "khai sinh", "TP-2025-000042", "Đăng ký", "<b>", "&amp;", ">", `"`, `\`, "/",
	"\n", "\r\n", "\t", "\x00", "\x01", "\x1f", "\x7f", "\b", "\f", "\u2028", "\u2029", "😀", "\u200f",
	"\xff", "\xc3", "\xed\xa0\x80", "a\u0301", "\ufffd", "𝄞", "ờ", "ký tự", " ",
}

func randString(r *rand.Rand) string {
	var b strings.Builder
	for range r.IntN(6) {
		b.WriteString(pieces[r.IntN(len(pieces))])
	}
	return b.String()
}

func randTime(r *rand.Rand) time.Time {
	if r.IntN(5) == 0 {
		return time.Time{}
	}
	sec := r.Int64N(253402300799) - 62135596800 // years 0001–9999
	t := time.Unix(sec, r.Int64N(1e9)*int64(r.IntN(2)))
	switch r.IntN(4) {
	case 0:
		return t.UTC()
	case 1:
		return t.In(time.FixedZone("", 7*3600))
	case 2:
		return t.In(time.FixedZone("", -(r.IntN(24*60)*60 + r.IntN(2)*30)))
	default:
		loc, err := time.LoadLocation("Asia/Ho_Chi_Minh")
		if err != nil {
			return t.UTC()
		}
		return t.In(loc)
	}
}

// roundTrip is what a value is after encoding/json writes and reads it.
func roundTrip[T any](t *testing.T, data []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("json.Unmarshal(%s): %v", data, err)
	}
	return v
}

// TestMatchesEncodingJSON holds Marshal and Unmarshal to encoding/json on
// random values of every record the codec knows, and checks that the fast
// path reads all that json.Marshal writes: escapes included, only invalid
// UTF-8 (which json.Marshal never writes) leaves it.
func TestMatchesEncodingJSON(t *testing.T) {
	matchesJSON(t, 1, 5000, (*decoder).ticket)
	matchesJSON(t, 3, 5000, (*decoder).event)
	matchesJSON(t, 7, 3000, (*decoder).outMessage)
	matchesJSON(t, 8, 3000, (*decoder).journalEntry)
	matchesJSON(t, 9, 3000, (*decoder).official)
	matchesJSON(t, 10, 3000, (*decoder).question)
}

func matchesJSON[T any](t *testing.T, seed uint64, n int, read func(*decoder, *T) bool) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, seed))
	for i := range n {
		var v T
		fill(r, reflect.ValueOf(&v))
		want, wantErr := json.Marshal(v)
		got, err := Marshal(&v)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("%T %d: Marshal error %v, json.Marshal error %v", v, i, err, wantErr)
		}
		if typed, ok, typedErr := marshalTyped(&v); ok && (!bytes.Equal(typed, got) || (typedErr != nil) != (err != nil)) {
			t.Fatalf("%T %d: the typed encoder gave %s (error %v), Marshal %s (error %v)", v, i, typed, typedErr, got, err)
		}
		if err != nil {
			continue
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%T %d: Marshal differs from json.Marshal:\n got %s\nwant %s", v, i, got, want)
		}
		var fast T
		if d := (decoder{data: want}); !read(&d, &fast) || !d.end() {
			t.Errorf("%T %d: the fast path refused %s", v, i, want)
		}
		var dec T
		if err := Unmarshal(want, &dec); err != nil {
			t.Fatalf("%T %d: Unmarshal: %v", v, i, err)
		}
		exp := roundTrip[T](t, want)
		if !reflect.DeepEqual(dec, exp) {
			t.Fatalf("%T %d: Unmarshal(%s)\n got %#v\nwant %#v", v, i, want, dec, exp)
		}
		var shared T
		if err := UnmarshalString(string(want), &shared); err != nil {
			t.Fatalf("%T %d: UnmarshalString: %v", v, i, err)
		}
		if !reflect.DeepEqual(shared, exp) {
			t.Fatalf("%T %d: UnmarshalString(%s)\n got %#v\nwant %#v", v, i, want, shared, exp)
		}
		var typed T
		if ok, err := unmarshalTyped(string(want), &typed); ok && (err != nil || !reflect.DeepEqual(typed, exp)) {
			t.Fatalf("%T %d: the typed decoder of %s: %v\n got %#v\nwant %#v", v, i, want, err, typed, exp)
		}
	}
}

// marshalTyped encodes v with its typed entry point, if it has one.
func marshalTyped(v any) ([]byte, bool, error) {
	var data, appended []byte
	var err, appendErr error
	switch v := v.(type) {
	case *caunoi.Ticket:
		data, err = AppendTicket(nil, v)
		appended, appendErr = AppendTicket([]byte("đầu"), v)
	case *caunoi.Event:
		data, err = AppendEvent(nil, v)
		appended, appendErr = AppendEvent([]byte("đầu"), v)
	default:
		return nil, false, nil
	}
	// Appending to a buffer with content keeps the content and adds the
	// same encoding.
	if (err != nil) != (appendErr != nil) || (err == nil && string(appended) != "đầu"+string(data)) {
		return appended, true, fmt.Errorf("append gave %q (error %v), to nothing %q (error %v)", appended, appendErr, data, err)
	}
	return data, true, err
}

// unmarshalTyped decodes s into v with its typed entry point, if it has one.
func unmarshalTyped(s string, v any) (bool, error) {
	if t, ok := v.(*caunoi.Ticket); ok {
		return true, UnmarshalTicketString(s, t)
	}
	return false, nil
}

func TestEncodeErrorsAsEncodingJSON(t *testing.T) {
	for _, tk := range []caunoi.Ticket{
		{Results: []caunoi.Candidate{{Score: math.NaN()}}},
		{Results: []caunoi.Candidate{{Score: math.Inf(-1)}}},
		{Created: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		{ResolvedAt: time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		if _, err := json.Marshal(tk); err == nil {
			t.Fatalf("json.Marshal accepted %+v", tk)
		}
		if b, err := appendTicket(nil, &tk); err == nil {
			t.Errorf("appendTicket wrote %s, want an error", b)
		}
	}
	e := caunoi.Event{At: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}
	if b, err := appendEvent(nil, &e); err == nil {
		t.Errorf("appendEvent wrote %s, want an error", b)
	}
}

// Inputs the fast path must leave to encoding/json, each decoding exactly
// as json.Unmarshal decodes it (or failing as it fails).
var unusual = []string{
	`{"Number":"A","Number":"B"}`,
	`{"Results":[{"Title":"a","Score":1}],"Results":[{"Title":"b"}]}`,
	`{"number":"a"}`,
	`{"Extra":1,"Number":"a"}`,
	` {"Number":"a"} `,
	`{"Number" : "a"}`,
	`{"Asker":1.0}`,
	`{"Asker":1e3}`,
	`{"Asker":99999999999999999999}`,
	`{"Asker":01}`,
	`{"Asker":-}`,
	`{"Rating":"5"}`,
	`{"Created":null}`,
	`{"Created":"2025-07-01T08:00:00+07:00"}`,
	`{"Created":"2025-07-01T08:00:00\u002b07:00"}`,
	`{"Created":"2025-7-1"}`,
	`{"Question":"a\ud83d\ude00b\ud800c\udc00\ud800\u0041"}`,
	`{"Question":"\xff"}`,
	`{"Question":"a` + "\n" + `"}`,
	`{"Question":"\u00e1\/\b\f\n\r\t\"\\"}`,
	`{"Question":"\x"}`,
	`{"Results":null,"Attachments":[],"Applied":[]}`,
	`{"Results":[],"Attachments":null,"Applied":null}`,
	`{"Results":[{"Score":1e400}]}`,
	`{"Results":[{"Score":-0.0}]}`,
	`{"Results":[{"Score":2E-3}]}`,
	`{"Attachments":[{"Size":-1}],"Applied":["a",1]}`,
	`{}`,
	`{`,
	`null`,
	`[]`,
	`{"Number":"a"}x`,
	`{"Number":"a",}`,
	`{"Payload":"aGVsbG8="}`,
	`{"Payload":"aGVsbG8"}`,
	`{"Payload":"aGVs\nbG8="}`,
	`{"Payload":""}`,
	`{"Payload":null}`,
	`{"Payload":[104,105]}`,
	`{"ID":1,"Chat":-100123,"Received":"2026-01-02T03:04:05Z"}`,
	`{"Key":"k","Attempts":2,"NotBefore":"2026-01-02T03:04:05.5+07:00"}`,
	`{"ID":7,"Roles":["official","staff"],"Registered":"2025-07-01T08:00:00+07:00"}`,
	`{"Roles":["a"],"Roles":null}`,
	`{"Roles":[1]}`,
	`{"ID":"Q1","Helpful":true,"Top":[{"Score":0.5}]}`,
	`{"Helpful":false,"Helpful":null}`,
	`{"Helpful":null}`,
	`{"Helpful":"true"}`,
	`{"Helpful":1}`,
	`{"Helpful":tru}`,
	`{"Confidence":2,"Escalated":"TP-2025-000001"}`,
}

func TestDecodeUnusualAsEncodingJSON(t *testing.T) {
	for _, in := range unusual {
		checkDecode(t, []byte(in))
	}
}

// checkDecode holds Unmarshal to json.Unmarshal on in, for every record
// the codec knows.
func checkDecode(t *testing.T, in []byte) {
	t.Helper()
	decodesAsJSON[caunoi.Ticket](t, in)
	decodesAsJSON[caunoi.Event](t, in)
	decodesAsJSON[caunoi.OutMessage](t, in)
	decodesAsJSON[caunoi.JournalEntry](t, in)
	decodesAsJSON[caunoi.Official](t, in)
	decodesAsJSON[caunoi.QuestionRecord](t, in)
}

func decodesAsJSON[T any](t *testing.T, in []byte) {
	t.Helper()
	var got, want T
	err := Unmarshal(in, &got)
	wantErr := json.Unmarshal(in, &want)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("Unmarshal(%q) into %T: error %v, json.Unmarshal error %v", in, got, err, wantErr)
	}
	if err == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("Unmarshal(%q) into %T\n got %#v\nwant %#v", in, got, got, want)
	}
	var shared T
	err = UnmarshalString(string(in), &shared)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("UnmarshalString(%q) into %T: error %v, json.Unmarshal error %v", in, shared, err, wantErr)
	}
	if err == nil && !reflect.DeepEqual(shared, want) {
		t.Fatalf("UnmarshalString(%q) into %T\n got %#v\nwant %#v", in, shared, shared, want)
	}
	var typed T
	if ok, err := unmarshalTyped(string(in), &typed); ok {
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("the typed decoder of %q into %T: error %v, json.Unmarshal error %v", in, typed, err, wantErr)
		}
		if err == nil && !reflect.DeepEqual(typed, want) {
			t.Fatalf("the typed decoder of %q into %T\n got %#v\nwant %#v", in, typed, typed, want)
		}
	}
}

// FuzzDecode holds the fast path to json.Unmarshal on any input.
func FuzzDecode(f *testing.F) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 20 {
		for _, v := range []any{&caunoi.Ticket{}, &caunoi.Event{}, &caunoi.OutMessage{}, &caunoi.Official{}, &caunoi.QuestionRecord{}} {
			fill(r, reflect.ValueOf(v))
			if b, err := json.Marshal(v); err == nil {
				f.Add(b)
			}
		}
	}
	for _, in := range unusual {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		checkDecode(t, in)
	})
}

func BenchmarkTicket(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 8))
	tk := caunoi.Ticket{
		Number: "TP-2025-000042", Department: "tu-phap", Asker: 1234567, Commune: "26734",
		Question:    "Khai sinh cho trẻ sinh ở nước ngoài về nước thì nộp ở xã hay ở Sở?",
		Results:     []caunoi.Candidate{{PassageID: "ho-tich/dang-ky-khai-sinh#ho-so", EntryID: "ho-tich/dang-ky-khai-sinh", Title: "Đăng ký khai sinh", Section: "Hồ sơ cần nộp", Score: 3.25, Confidence: 1}},
		Attachments: []caunoi.Attachment{{Kind: "photo", Ref: "AgACAgIAAxkBAAI", Name: "to-khai.jpg", MIME: "image/jpeg", Size: 48213}},
		Status:      caunoi.StatusClaimed, Assignee: 100, IdemKey: "esc:1234567:991",
		Created: randTime(r), Updated: randTime(r), FirstResponseDue: randTime(r), ResolutionDue: randTime(r),
		Applied: []string{"cb:1:2", "cb:3:4"},
	}
	data, _ := json.Marshal(tk)
	b.Run("encode/json", func(b *testing.B) {
		for b.Loop() {
			json.Marshal(tk)
		}
	})
	b.Run("encode/codec", func(b *testing.B) {
		var buf []byte
		for b.Loop() {
			buf, _ = appendTicket(buf[:0], &tk)
		}
	})
	b.Run("decode/json", func(b *testing.B) {
		for b.Loop() {
			var t caunoi.Ticket
			json.Unmarshal(data, &t)
		}
	})
	b.Run("decode/codec", func(b *testing.B) {
		for b.Loop() {
			var t caunoi.Ticket
			Unmarshal(data, &t)
		}
	})
}

func TestAroundNumber(t *testing.T) {
	tk := caunoi.Ticket{Question: "Hỏi <gì>?", Department: "tu-phap"}
	before, after, err := AroundNumber(tk)
	if err != nil {
		t.Fatal(err)
	}
	if b, a, err := AroundNumber(&tk); err != nil || !bytes.Equal(b, before) || !bytes.Equal(a, after) {
		t.Errorf("AroundNumber(&tk) = %q, %q, %v; want %q, %q as for the value", b, a, err, before, after)
	}
	tk.Number = `TP-2025-000042`
	want, _ := json.Marshal(tk)
	if got := string(before) + "TP-2025-000042" + string(after); got != string(want) {
		t.Errorf("ticket split %q + %q, joined %s, want %s", before, after, got, want)
	}
	ev := caunoi.Event{Kind: caunoi.EventCreated, Text: "a&b"}
	before, after, err = AroundNumber(ev)
	if err != nil {
		t.Fatal(err)
	}
	if b, a, err := AroundNumber(&ev); err != nil || !bytes.Equal(b, before) || !bytes.Equal(a, after) {
		t.Errorf("AroundNumber(&ev) = %q, %q, %v; want %q, %q as for the value", b, a, err, before, after)
	}
	ev.Ticket = "TP-2025-000042"
	want, _ = json.Marshal(ev)
	if got := string(before) + "TP-2025-000042" + string(after); got != string(want) {
		t.Errorf("event split joined %s, want %s", got, want)
	}
	if _, _, err := AroundNumber(tk); err == nil {
		t.Error("AroundNumber accepted a ticket with a number")
	}
	if _, _, err := AroundNumber(&ev); err == nil {
		t.Error("AroundNumber accepted an event with a number")
	}
	if _, _, err := AroundNumber(caunoi.Ticket{Created: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}); !errors.Is(err, caunoi.ErrInvalid) {
		t.Errorf("year 10000: %v, want ErrInvalid", err)
	}
}
