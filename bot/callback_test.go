package bot

import (
	"errors"
	"strings"
	"testing"
)

func mustSigner(tb testing.TB) *signer {
	tb.Helper()
	s, err := newSigner([]byte("0123456789abcdef-test-key"))
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func TestCallbackRoundTrip(t *testing.T) {
	s := mustSigner(t)
	for _, c := range []callback{
		{actClaim, "NNMT-2025-000042"},
		{actRate, "TP-2026-123456/5"},
		{actHelpful, "q_01JD3XKZ8W9N2M4P6R8T0V2X4Z"},
		{actTransferTo, strings.Repeat("x", maxCallbackArg)},
		{actCancel, ""},
	} {
		data, err := s.encode(-1001234567890, c)
		if err != nil {
			t.Fatalf("encode %+v: %v", c, err)
		}
		if len(data) > 64 {
			t.Errorf("encode %+v: %d bytes, want ≤ 64", c, len(data))
		}
		got, err := s.decode(-1001234567890, data)
		if err != nil || got != c {
			t.Errorf("decode(encode(%+v)) = %+v, %v", c, got, err)
		}
	}
}

func TestCallbackRejects(t *testing.T) {
	s := mustSigner(t)
	good, err := s.encode(42, callback{actClaim, "TP-2025-000001"})
	if err != nil {
		t.Fatal(err)
	}
	other, _ := newSigner([]byte("another-key-of-sixteen-bytes"))
	forged, _ := other.encode(42, callback{actClaim, "TP-2025-000001"})

	tamper := []byte(good)
	tamper[5] ^= 1

	tests := []struct {
		name string
		chat int64
		data string
		want error
	}{
		{"other chat", 43, good, errCallbackMAC},
		{"other key", 42, forged, errCallbackMAC},
		{"tampered", 42, string(tamper), nil}, // either error is fine
		{"empty", 42, "", errCallbackFormat},
		{"not base64", 42, "!!!!", errCallbackFormat},
		{"too long", 42, strings.Repeat("A", 65), errCallbackFormat},
		{"short", 42, "AQk", errCallbackFormat},
	}
	for _, tt := range tests {
		_, err := s.decode(tt.chat, tt.data)
		if err == nil {
			t.Errorf("%s: decode accepted %q", tt.name, tt.data)
			continue
		}
		if tt.want != nil && !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestCallbackEncodeLimits(t *testing.T) {
	s := mustSigner(t)
	if _, err := s.encode(1, callback{actClaim, strings.Repeat("x", maxCallbackArg+1)}); err == nil {
		t.Error("encode accepted an argument over the limit")
	}
	if _, err := s.encode(1, callback{0, "x"}); err == nil {
		t.Error("encode accepted action 0")
	}
	if _, err := newSigner([]byte("short")); err == nil {
		t.Error("newSigner accepted a short key")
	}
}

func FuzzCallbackDecode(f *testing.F) {
	s := mustSigner(f)
	good, _ := s.encode(7, callback{actRate, "TP-2025-000001/4"})
	f.Add(int64(7), good)
	f.Add(int64(7), "")
	f.Add(int64(-100), "AQkAAAAAAAAAAA")
	f.Fuzz(func(t *testing.T, chat int64, data string) {
		c, err := s.decode(chat, data)
		if err != nil {
			return
		}
		if c.Action == 0 || c.Action > maxAction || len(c.Arg) > 64 {
			t.Fatalf("decode accepted %+v from %q", c, data)
		}
		again, err := s.encode(chat, c)
		if err != nil || again != data {
			t.Fatalf("accepted data %q does not re-encode: %q, %v", data, again, err)
		}
	})
}
