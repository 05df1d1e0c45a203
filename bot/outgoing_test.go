package bot

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/caunoi/caunoi/store/codec"
)

// randOutgoing fills every field of an outgoing message through
// reflection, so that a field added later is covered by the tests below.
func randOutgoing(r *rand.Rand) outgoing {
	texts := []string{"", "Chào", "Hồ sơ <b>đăng ký</b> & \"khai sinh\"", "\n\t\x00\x1f", "\u2028😀", "\xff\xc3", `\/`, "a\u0301"}
	var set func(v reflect.Value)
	set = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Struct:
			for i := range v.NumField() {
				set(v.Field(i))
			}
		case reflect.String:
			v.SetString(texts[r.IntN(len(texts))] + texts[r.IntN(len(texts))])
		case reflect.Bool:
			v.SetBool(r.IntN(2) == 0)
		case reflect.Int, reflect.Int64:
			v.SetInt([]int64{0, 0, 1, -1, 42, math.MaxInt64, math.MinInt64, -1001234567890}[r.IntN(8)])
		case reflect.Slice:
			n := r.IntN(4) - 1
			if n < 0 {
				v.SetZero()
				return
			}
			s := reflect.MakeSlice(v.Type(), n, n)
			for i := range n {
				set(s.Index(i))
			}
			v.Set(s)
		default:
			panic("randOutgoing: add a case for " + v.Type().String())
		}
	}
	var o outgoing
	set(reflect.ValueOf(&o).Elem())
	return o
}

// TestOutgoingAsEncodingJSON holds marshal to json.Marshal and
// unmarshalOutgoing to json.Unmarshal, and checks that the fast path reads
// all that marshal writes.
func TestOutgoingAsEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for i := range 5000 {
		o := randOutgoing(r)
		got := o.marshal()
		want, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%d: marshal differs from json.Marshal:\n got %s\nwant %s", i, got, want)
		}
		var fast outgoing
		if rd := codec.NewReader(want); !readOutgoing(rd, &fast) || !rd.End() {
			t.Errorf("%d: the fast path refused %s", i, want)
		}
		outgoingDecodesAsJSON(t, want)
	}
}

var unusualOutgoing = []string{
	`{"k":"text","c":1,"x":"a","x":"b"}`,
	`{"K":"text"}`,
	`{"k":"text","z":1}`,
	` {"k":"text"}`,
	`{"k":"text","c":1.5}`,
	`{"c":99999999999999999999}`,
	`{"th":"3"}`,
	`{"g":1}`,
	`{"g":null}`,
	`{"x":null}`,
	`{"kb":null}`,
	`{"kb":[]}`,
	`{"kb":[null,[]]}`,
	`{"kb":[[{"t":"a","d":"b","t":"c"}]]}`,
	`{"kb":[[{"t":"a"}],[{"d":"x","e":1}]]}`,
	`{"kb":[[1]]}`,
	`{"kb":{}}`,
	`{"x":"\ud83d\ude00\u00e1\/"}`,
	`{"x":"\xff"}`,
	`{}`,
	`{`,
	`null`,
	`[]`,
	`{"k":"text"}x`,
	`{"k":"text",}`,
}

func TestOutgoingUnusualAsEncodingJSON(t *testing.T) {
	for _, in := range unusualOutgoing {
		outgoingDecodesAsJSON(t, []byte(in))
	}
}

// FuzzOutgoing holds unmarshalOutgoing to json.Unmarshal on any input: an
// outbox payload is read back after a restart, by whatever version runs.
func FuzzOutgoing(f *testing.F) {
	r := rand.New(rand.NewPCG(13, 14))
	for range 20 {
		f.Add(randOutgoing(r).marshal())
	}
	for _, in := range unusualOutgoing {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		outgoingDecodesAsJSON(t, in)
	})
}

func outgoingDecodesAsJSON(t *testing.T, in []byte) {
	t.Helper()
	got, err := unmarshalOutgoing(in)
	var want outgoing
	wantErr := json.Unmarshal(in, &want)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("unmarshalOutgoing(%q): error %v, json.Unmarshal error %v", in, err, wantErr)
	}
	if err == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("unmarshalOutgoing(%q)\n got %#v\nwant %#v", in, got, want)
	}
}

func BenchmarkOutgoing(b *testing.B) {
	o := outgoing{Kind: outText, Chat: 123456789, Text: "<b>Đăng ký khai sinh</b>\nHồ sơ gồm tờ khai, giấy chứng sinh…",
		Keyboard: [][]button{{{Text: "Hữu ích", Data: "v1.abcdefghijklmnop"}, {Text: "Hỏi cán bộ Sở", Data: "v1.qrstuvwxyz012345"}}}}
	data := o.marshal()
	b.ReportAllocs()
	for b.Loop() {
		p := o.marshal()
		if _, err := unmarshalOutgoing(data); err != nil || len(p) == 0 {
			b.Fatal(err)
		}
	}
}
