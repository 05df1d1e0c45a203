package telegramtest_test

import (
	"slices"
	"testing"

	"github.com/go-telegram/bot"

	"github.com/caunoi/caunoi/bot/telegramtest"
)

func TestUnread(t *testing.T) {
	s := telegramtest.New(t)
	a, b := official(t, s, "Lan"), official(t, s, "Minh")
	tg := MustOpenBot(t, s)
	ctx := testContext(t)
	if got := s.Unread(); len(got) != 0 {
		t.Fatalf("unread before any send: %v", got)
	}
	for _, chat := range []int64{b.ID, a.ID, b.ID} {
		if _, err := tg.SendMessage(ctx, &bot.SendMessageParams{ChatID: chat, Text: "chào"}); err != nil {
			t.Fatal(err)
		}
	}
	want := []int64{min(a.ID, b.ID), max(a.ID, b.ID)}
	if got := s.Unread(); !slices.Equal(got, want) {
		t.Fatalf("unread %v, want %v", got, want)
	}
	if _, err := s.Next(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if got := s.Unread(); !slices.Equal(got, []int64{b.ID}) {
		t.Fatalf("after reading Lan's one message: unread %v, want [%d]", got, b.ID)
	}
	if _, err := s.Next(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	if got := s.Unread(); !slices.Equal(got, []int64{b.ID}) {
		t.Fatalf("after one of Minh's two: unread %v, want [%d]", got, b.ID)
	}
	if _, err := s.Next(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	if got := s.Unread(); len(got) != 0 {
		t.Fatalf("after reading everything: unread %v", got)
	}
}
