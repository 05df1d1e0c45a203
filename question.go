package caunoi

import (
	"context"
	"fmt"
	"time"
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

// QuestionPruneBatch is how many records PruneOldQuestions deletes with one
// call of QuestionLog.PruneQuestions, which holds up the store's other
// writes while it runs.
const QuestionPruneBatch = 500

// PruneOldQuestions deletes every record of log asked before before,
// QuestionPruneBatch at a time, oldest first, and returns how many it
// deleted. progress, when not nil, gets the running total after each full
// batch. On an error the batches deleted before it stay deleted.
func PruneOldQuestions(ctx context.Context, log QuestionLog, before time.Time, progress func(total int)) (int, error) {
	total := 0
	for {
		n, err := log.PruneQuestions(ctx, before, QuestionPruneBatch)
		total += n
		if err != nil {
			return total, err
		}
		if n < QuestionPruneBatch {
			return total, nil
		}
		if progress != nil {
			progress(total)
		}
	}
}
