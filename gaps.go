package caunoi

import (
	"context"
	"fmt"
	"time"
)

// Gap reports whether q shows something the handbook lacks: it was answered
// with low or no confidence, the official marked the answer unhelpful, or
// the question became a ticket.
func (q QuestionRecord) Gap() bool {
	return q.Confidence != ConfidenceHigh || (q.Helpful != nil && !*q.Helpful) || q.Escalated != ""
}

// KnowledgeGap is a group of near-identical questions the handbook did not
// answer well: what editors should write next.
type KnowledgeGap struct {
	// Count is how many questions the group holds.
	Count int
	// Communes are the distinct communes that asked, sorted; questions from
	// people without a commune are not listed.
	Communes []string
	// Low, None, Unhelpful and Escalated count the questions by why they
	// are gaps; one question may count under several.
	Low, None, Unhelpful, Escalated int
	// Example is the most frequent wording in the group.
	Example string
	// Questions are the distinct wordings, most frequent first.
	Questions []string
	// Nearest is the handbook passage that searches put first most often,
	// or the zero Candidate when they found nothing.
	Nearest Candidate
	// First and Last are when the group's first and last questions were
	// asked.
	First, Last time.Time
}

// GapQuestions returns the questions asked in [since, until) that are gaps
// (see QuestionRecord.Gap), oldest first. Editors and admins may ask;
// others get ErrForbidden. A period that does not end after it starts is
// ErrInvalid.
func (d *Desk) GapQuestions(ctx context.Context, actor UserID, since, until time.Time) ([]QuestionRecord, error) {
	p, err := d.person(ctx, actor)
	if err != nil {
		return nil, fmt.Errorf("gap questions: %w", err)
	}
	if !p.Has(RoleEditor) && !p.Has(RoleAdmin) {
		return nil, fmt.Errorf("gap questions for user %d: %w", actor, ErrForbidden)
	}
	if !until.After(since) {
		return nil, fmt.Errorf("gap questions: period ends before it starts: %w", ErrInvalid)
	}
	qs, err := d.Store.Questions(ctx, since, until)
	if err != nil {
		return nil, fmt.Errorf("gap questions: %w", err)
	}
	out := qs[:0:0]
	for _, q := range qs {
		if q.Gap() {
			out = append(out, q)
		}
	}
	return out, nil
}
