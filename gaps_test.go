package caunoi_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/caunoi/caunoi"
)

func TestQuestionGap(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		q    caunoi.QuestionRecord
		want bool
	}{
		{caunoi.QuestionRecord{Confidence: caunoi.ConfidenceHigh}, false},
		{caunoi.QuestionRecord{Confidence: caunoi.ConfidenceHigh, Helpful: &yes}, false},
		{caunoi.QuestionRecord{Confidence: caunoi.ConfidenceHigh, Helpful: &no}, true},
		{caunoi.QuestionRecord{Confidence: caunoi.ConfidenceHigh, Escalated: "TP-2026-000001"}, true},
		{caunoi.QuestionRecord{Confidence: caunoi.ConfidenceLow}, true},
		{caunoi.QuestionRecord{Confidence: caunoi.ConfidenceNone}, true},
	}
	for i, tt := range tests {
		if got := tt.q.Gap(); got != tt.want {
			t.Errorf("case %d: Gap() = %v, want %v", i, got, tt.want)
		}
	}
}

func TestGapQuestions(t *testing.T) {
	d := MustOpenEditorsDesk(t)
	ctx := context.Background()
	at := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	for i, q := range []caunoi.QuestionRecord{
		{Text: "chắc chắn", Confidence: caunoi.ConfidenceHigh},
		{Text: "không có", Confidence: caunoi.ConfidenceNone},
		{Text: "chưa chắc", Confidence: caunoi.ConfidenceLow},
		{Text: "ngoài kỳ", Confidence: caunoi.ConfidenceNone},
	} {
		q.At = at.Add(time.Duration(i) * time.Hour)
		if i == 3 {
			q.At = at.Add(-48 * time.Hour)
		}
		if _, err := d.Store.LogQuestion(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	since, until := at.Add(-time.Hour), at.Add(24*time.Hour)
	for _, actor := range []caunoi.UserID{4, caunoi.Operator} {
		qs, err := d.GapQuestions(ctx, actor, since, until)
		if err != nil || len(qs) != 2 || qs[0].Text != "không có" || qs[1].Text != "chưa chắc" {
			t.Errorf("user %d: %v, %+v", actor, err, qs)
		}
	}
	for _, actor := range []caunoi.UserID{1, 2, 5, 99} {
		if _, err := d.GapQuestions(ctx, actor, since, until); !errors.Is(err, caunoi.ErrForbidden) {
			t.Errorf("user %d: %v, want ErrForbidden", actor, err)
		}
	}
	if _, err := d.GapQuestions(ctx, 4, until, since); !errors.Is(err, caunoi.ErrInvalid) {
		t.Errorf("reversed period: %v, want ErrInvalid", err)
	}
}
