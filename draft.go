package caunoi

import (
	"context"
	"fmt"
	"strings"
)

// DraftSource is what a handbook draft is made from: a resolved ticket, its
// department, and the department's written answers.
type DraftSource struct {
	Ticket     Ticket
	Department Department
	// Answers are the ticket's replies and resolution notes that carry
	// text, in timeline order.
	Answers []Event
}

// MayDraft reports whether p may turn a ticket of department into a
// handbook draft: its staff and leads, editors and admins may.
func MayDraft(p Official, department string) bool {
	return p.Has(RoleEditor) || staffOf(p, department)
}

// DraftSource gathers what a handbook draft of ticket number needs. Staff
// and leads of the ticket's department, editors and admins may ask; others
// get ErrForbidden. The ticket must be resolved, or answered with a
// resolution proposed by staff, else ErrConflict; a ticket whose answers
// hold no text is ErrInvalid; an unknown ticket is ErrNotFound.
func (d *Desk) DraftSource(ctx context.Context, actor UserID, number string) (DraftSource, error) {
	p, err := d.person(ctx, actor)
	if err != nil {
		return DraftSource{}, fmt.Errorf("draft of %s: %w", number, err)
	}
	t, err := d.Store.Ticket(ctx, number)
	if err != nil {
		return DraftSource{}, fmt.Errorf("draft of %s: %w", number, err)
	}
	if !MayDraft(p, t.Department) {
		return DraftSource{}, fmt.Errorf("draft of %s by user %d: %w", number, actor, ErrForbidden)
	}
	events, err := d.Store.Events(ctx, number)
	if err != nil {
		return DraftSource{}, fmt.Errorf("draft of %s: events: %w", number, err)
	}
	proposed := false
	src := DraftSource{Ticket: t}
	for _, ev := range events {
		switch ev.Kind {
		case EventResolved:
			proposed = true
			if strings.TrimSpace(ev.Text) != "" {
				src.Answers = append(src.Answers, ev)
			}
		case EventReplied:
			if strings.TrimSpace(ev.Text) != "" {
				src.Answers = append(src.Answers, ev)
			}
		case EventReopened:
			proposed = false
		}
	}
	if t.Status != StatusResolved && (t.Status != StatusAnswered || !proposed) {
		return DraftSource{}, fmt.Errorf("draft of %s: ticket is %s: %w", number, t.Status, ErrConflict)
	}
	if len(src.Answers) == 0 {
		return DraftSource{}, fmt.Errorf("draft of %s: no written answer: %w", number, ErrInvalid)
	}
	src.Department, _ = d.Department(t.Department)
	if src.Department.Code == "" {
		src.Department = Department{Code: t.Department, Name: t.Department}
	}
	return src, nil
}
