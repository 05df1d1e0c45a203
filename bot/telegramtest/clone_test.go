package telegramtest

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
)

// jsonClone is how messages were copied before cloneMessage: through JSON.
func jsonClone(t *testing.T, m Message) Message {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var out Message
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

var cloneStrings = []string{"", "a", "Hồ sơ", "<b>x</b>", "\x00", "\xff", "a\xc3", "😀", "\u2028"}

// fillRandom sets every exported field of v at random, through reflection,
// so that a field added to Message later is covered too.
func fillRandom(r *rand.Rand, v reflect.Value, depth int) {
	switch v.Kind() {
	case reflect.Pointer:
		if r.IntN(3) == 0 || depth > 3 {
			v.SetZero()
			return
		}
		v.Set(reflect.New(v.Type().Elem()))
		fillRandom(r, v.Elem(), depth+1)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fillRandom(r, v.Field(i), depth)
			}
		}
	case reflect.String:
		v.SetString(cloneStrings[r.IntN(len(cloneStrings))])
	case reflect.Int, reflect.Int64:
		v.SetInt(r.Int64N(5) - 1)
	case reflect.Bool:
		v.SetBool(r.IntN(2) == 0)
	case reflect.Slice:
		switch r.IntN(3) {
		case 0:
			v.SetZero()
		case 1:
			v.Set(reflect.MakeSlice(v.Type(), 0, 0))
		default:
			n := 1 + r.IntN(3)
			s := reflect.MakeSlice(v.Type(), n, n)
			for i := range n {
				fillRandom(r, s.Index(i), depth+1)
			}
			v.Set(s)
		}
	default:
		panic("fillRandom: add a case for " + v.Type().String())
	}
}

// TestCloneMessageAsJSON checks that cloneMessage gives what a JSON round
// trip gives, and shares nothing with the original.
func TestCloneMessageAsJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		var m Message
		fillRandom(r, reflect.ValueOf(&m).Elem(), 0)
		want := jsonClone(t, m)
		got := cloneMessage(m)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%d: cloneMessage\n got %+v\nwant %+v", i, got, want)
		}
		// Changing the clone leaves the original as it was.
		before := jsonClone(t, m)
		if got.From != nil {
			got.From.FirstName = "đổi"
		}
		if got.ReplyToMessage != nil {
			got.ReplyToMessage.Text = "đổi"
		}
		if len(got.Photo) > 0 {
			got.Photo[0].FileID = "đổi"
		}
		if got.Document != nil {
			got.Document.FileName = "đổi"
		}
		if got.ReplyMarkup != nil && len(got.ReplyMarkup.InlineKeyboard) > 0 && len(got.ReplyMarkup.InlineKeyboard[0]) > 0 {
			got.ReplyMarkup.InlineKeyboard[0][0].Text = "đổi"
		}
		if len(got.Entities) > 0 && got.Entities[0].User != nil {
			got.Entities[0].User.FirstName = "đổi"
		}
		if after := jsonClone(t, m); !reflect.DeepEqual(after, before) {
			t.Fatalf("%d: changing the clone changed the original", i)
		}
	}
}
