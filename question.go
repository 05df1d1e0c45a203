package caunoi

import (
	"context"
	"fmt"
)

// Question returns a logged question. Only the person who asked may read it
// (ErrForbidden otherwise); an unknown id is ErrNotFound.
func (d *Desk) Question(ctx context.Context, actor UserID, id string) (QuestionRecord, error) {
	q, err := d.Store.Question(ctx, id)
	if err != nil {
		return QuestionRecord{}, fmt.Errorf("question %s: %w", id, err)
	}
	if q.Asker != actor {
		return QuestionRecord{}, fmt.Errorf("question %s read by %d: %w", id, actor, ErrForbidden)
	}
	return q, nil
}
