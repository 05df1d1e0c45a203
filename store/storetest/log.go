package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/caunoi/caunoi"
)

func testQuestions(t *testing.T, open func(testing.TB) caunoi.Store) {
	ctx := context.Background()
	s := open(t)

	_, err := s.Question(ctx, "Q404")
	checkErr(t, "Question(missing)", err, caunoi.ErrNotFound)
	_, err = s.UpdateQuestion(ctx, "Q404", func(*caunoi.QuestionRecord) error { return nil })
	checkErr(t, "UpdateQuestion(missing)", err, caunoi.ErrNotFound)

	at := func(m int) time.Time { return suiteEpoch.Add(time.Duration(m) * time.Minute) }
	texts := []string{"lam giay khai sinh can giay to gi", "Thủ tục cấp GCN QSDĐ lần đầu", "chứng thực bản sao ở đâu", "đăng ký kết hôn có yếu tố nước ngoài"}
	minutes := []int{30, 0, 90, 60} // logged out of time order
	var logged []caunoi.QuestionRecord
	for i, text := range texts {
		q := caunoi.QuestionRecord{
			Asker: 30, Commune: "26734", Text: text, Confidence: caunoi.Confidence(i % 2),
			Top:     []caunoi.Candidate{{PassageID: fmt.Sprintf("p%d", i), EntryID: "ho-tich/dang-ky-khai-sinh", Title: "Đăng ký khai sinh", Score: 1.5}},
			Version: "v1", At: at(minutes[i]),
		}
		got, err := s.LogQuestion(ctx, q)
		if err != nil {
			t.Fatalf("LogQuestion: %v", err)
		}
		if got.ID == "" {
			t.Fatal("LogQuestion returned an empty ID")
		}
		q.ID = got.ID
		checkEqual(t, "LogQuestion result", got, q)
		logged = append(logged, got)
	}
	ids := map[string]bool{}
	for _, q := range logged {
		if ids[q.ID] {
			t.Errorf("question ID %q given twice", q.ID)
		}
		ids[q.ID] = true
		got, err := s.Question(ctx, q.ID)
		if err != nil {
			t.Fatalf("Question(%s): %v", q.ID, err)
		}
		checkEqual(t, "Question("+q.ID+")", got, q)
	}
	own, err := s.LogQuestion(ctx, caunoi.QuestionRecord{ID: "tu-dat", Asker: 31, Text: "hỏi thử", At: at(45)})
	if err != nil || own.ID != "tu-dat" {
		t.Fatalf("LogQuestion(with ID) = %q, %v; want the given ID", own.ID, err)
	}

	yes := true
	got, err := s.UpdateQuestion(ctx, logged[0].ID, func(q *caunoi.QuestionRecord) error {
		q.Helpful = &yes
		q.Escalated = "TP-2025-000001"
		return nil
	})
	if err != nil {
		t.Fatalf("UpdateQuestion: %v", err)
	}
	want := logged[0]
	want.Helpful, want.Escalated = &yes, "TP-2025-000001"
	checkEqual(t, "UpdateQuestion result", got, want)
	stored, err := s.Question(ctx, want.ID)
	if err != nil {
		t.Fatalf("Question: %v", err)
	}
	checkEqual(t, "Question after update", stored, want)
	logged[0] = want

	_, err = s.UpdateQuestion(ctx, logged[1].ID, func(q *caunoi.QuestionRecord) error {
		q.Escalated = "bị từ chối"
		return errRefused
	})
	if err != errRefused {
		t.Errorf("UpdateQuestion: got error %v, want the callback's error unchanged", err)
	}
	stored, _ = s.Question(ctx, logged[1].ID)
	checkEqual(t, "Question after failed update", stored, logged[1])

	window := func(from, to int) []string {
		t.Helper()
		list, err := s.Questions(ctx, at(from), at(to))
		if err != nil {
			t.Fatalf("Questions: %v", err)
		}
		out := []string{}
		for _, q := range list {
			out = append(out, q.Text)
		}
		return out
	}
	checkEqual(t, "Questions[0, 120)", window(0, 120), []string{texts[1], texts[0], "hỏi thử", texts[3], texts[2]})
	checkEqual(t, "Questions[30, 90)", window(30, 90), []string{texts[0], "hỏi thử", texts[3]})
	checkEqual(t, "Questions[91, 200)", window(91, 200), []string{})

	// Moving a record in time moves it in the listing.
	if _, err := s.UpdateQuestion(ctx, logged[2].ID, func(q *caunoi.QuestionRecord) error {
		q.At = at(10)
		return nil
	}); err != nil {
		t.Fatalf("UpdateQuestion(At): %v", err)
	}
	checkEqual(t, "Questions[0, 31) after moving", window(0, 31), []string{texts[1], texts[2], texts[0]})
	checkEqual(t, "Questions[60, 120) after moving", window(60, 120), []string{texts[3]})
}

// testPruneQuestions deletes old records in batches: each call takes the
// oldest, a record and its index entry go together, newer records and the
// sequence are untouched, and a bad limit changes nothing.
func testPruneQuestions(t *testing.T, open func(testing.TB) caunoi.Store) {
	ctx := context.Background()
	s := open(t)
	day := func(d int) time.Time { return suiteEpoch.AddDate(0, 0, d) }
	// Ten records a day for days 0–4, logged newest day first.
	var ids []string
	byDay := map[string]int{}
	for d := 4; d >= 0; d-- {
		for i := range 10 {
			q, err := s.LogQuestion(ctx, caunoi.QuestionRecord{Asker: caunoi.UserID(30 + i), Text: fmt.Sprintf("ngày %d, câu %d: xin giấy xác nhận tình trạng hôn nhân", d, i), At: day(d).Add(time.Duration(i) * time.Minute)})
			if err != nil {
				t.Fatalf("LogQuestion: %v", err)
			}
			ids = append(ids, q.ID)
			byDay[q.ID] = d
		}
	}
	count := func() int {
		t.Helper()
		list, err := s.Questions(ctx, day(-1), day(10))
		if err != nil {
			t.Fatalf("Questions: %v", err)
		}
		return len(list)
	}

	for _, limit := range []int{0, -3} {
		n, err := s.PruneQuestions(ctx, day(10), limit)
		checkErr(t, fmt.Sprintf("PruneQuestions(limit %d)", limit), err, caunoi.ErrInvalid)
		if n != 0 {
			t.Errorf("PruneQuestions(limit %d) = %d, want 0", limit, n)
		}
	}
	if got := count(); got != 50 {
		t.Fatalf("after refused prunes: %d records, want 50", got)
	}
	if n, err := s.PruneQuestions(ctx, day(0), 100); err != nil || n != 0 {
		t.Fatalf("PruneQuestions(before the oldest) = %d, %v; want 0, nil", n, err)
	}

	// Days 0–2 (30 records) in batches of 7: 7, 7, 7, 7, 2.
	var got []int
	for {
		n, err := s.PruneQuestions(ctx, day(3), 7)
		if err != nil {
			t.Fatalf("PruneQuestions: %v", err)
		}
		got = append(got, n)
		if n < 7 {
			break
		}
		if len(got) > 10 {
			t.Fatalf("PruneQuestions never ran out: %v", got)
		}
	}
	checkEqual(t, "batch sizes", got, []int{7, 7, 7, 7, 2})
	if got := count(); got != 20 {
		t.Errorf("after pruning days 0–2: %d records listed, want 20", got)
	}
	for _, id := range ids {
		_, err := s.Question(ctx, id)
		if byDay[id] < 3 {
			checkErr(t, "Question(pruned "+id+")", err, caunoi.ErrNotFound)
			_, err = s.UpdateQuestion(ctx, id, func(q *caunoi.QuestionRecord) error { return nil })
			checkErr(t, "UpdateQuestion(pruned "+id+")", err, caunoi.ErrNotFound)
		} else if err != nil {
			t.Errorf("Question(%s), asked on day %d: %v", id, byDay[id], err)
		}
	}
	// The oldest go first: a batch of 3 before day 5 takes day 3's first three.
	if n, err := s.PruneQuestions(ctx, day(5), 3); err != nil || n != 3 {
		t.Fatalf("PruneQuestions(day 5, 3) = %d, %v; want 3, nil", n, err)
	}
	list, err := s.Questions(ctx, day(3), day(4))
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 7 || !list[0].At.Equal(day(3).Add(3*time.Minute)) {
		t.Errorf("day 3 after pruning its oldest three: %d records, first at %v; want 7, the first at minute 3", len(list), list[0].At)
	}

	// Numbers are not reused.
	q, err := s.LogQuestion(ctx, caunoi.QuestionRecord{Asker: 30, Text: "câu hỏi mới", At: day(6)})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if q.ID == id {
			t.Errorf("a new record got %s, the number of a pruned one", q.ID)
		}
	}
}

func journalEntry(id int64, chat int64, at time.Time) caunoi.JournalEntry {
	return caunoi.JournalEntry{ID: id, Chat: chat, Payload: fmt.Appendf(nil, `{"update_id":%d,"message":{"text":"xin chào"}}`, id), Received: at}
}

func journalIDs(t testing.TB, s caunoi.Store, limit int) []int64 {
	t.Helper()
	list, err := s.Pending(context.Background(), limit)
	if err != nil {
		t.Fatalf("Pending: %v", err)
	}
	out := []int64{}
	for _, e := range list {
		out = append(out, e.ID)
	}
	return out
}

func testJournal(t *testing.T, open func(testing.TB) caunoi.Store) {
	ctx := context.Background()
	s := open(t)
	checkEqual(t, "Pending(empty)", journalIDs(t, s, 10), []int64{})

	entries := []caunoi.JournalEntry{journalEntry(5005, 1, suiteEpoch), journalEntry(5003, 2, suiteEpoch), journalEntry(5009, 1, suiteEpoch.Add(time.Second))}
	for _, e := range entries {
		added, err := s.Append(ctx, e)
		if err != nil || !added {
			t.Fatalf("Append(%d) = %v, %v; want added", e.ID, added, err)
		}
	}
	added, err := s.Append(ctx, journalEntry(5005, 1, suiteEpoch.Add(time.Minute)))
	if err != nil || added {
		t.Errorf("Append(duplicate pending) = %v, %v; want not added", added, err)
	}
	list, err := s.Pending(ctx, 10)
	if err != nil {
		t.Fatalf("Pending: %v", err)
	}
	checkEqual(t, "Pending entries", list, []caunoi.JournalEntry{entries[1], entries[0], entries[2]})
	checkEqual(t, "Pending(2)", journalIDs(t, s, 2), []int64{5003, 5005})

	if err := s.Done(ctx, 5003); err != nil {
		t.Fatalf("Done: %v", err)
	}
	checkEqual(t, "Pending after Done", journalIDs(t, s, 10), []int64{5005, 5009})
	added, err = s.Append(ctx, journalEntry(5003, 2, suiteEpoch.Add(time.Minute)))
	if err != nil || added {
		t.Errorf("Append(done) = %v, %v; want not added", added, err)
	}
	if err := s.Done(ctx, 5003); err != nil {
		t.Errorf("Done(again): %v", err)
	}
	checkErr(t, "Done(unknown)", s.Done(ctx, 4242), caunoi.ErrNotFound)
	checkEqual(t, "Pending at the end", journalIDs(t, s, 0), []int64{5005, 5009})
}

func testJournalPrune(t *testing.T, open func(testing.TB) caunoi.Store) {
	ctx := context.Background()
	s := open(t)
	old := journalEntry(1, 1, suiteEpoch.Add(-48*time.Hour))
	recent := journalEntry(2, 1, suiteEpoch.Add(-time.Hour))
	waiting := journalEntry(3, 1, suiteEpoch.Add(-72*time.Hour))
	for _, e := range []caunoi.JournalEntry{old, recent, waiting} {
		if _, err := s.Append(ctx, e); err != nil {
			t.Fatalf("Append: %v", err)
		}
	}
	for _, id := range []int64{1, 2} {
		if err := s.Done(ctx, id); err != nil {
			t.Fatalf("Done(%d): %v", id, err)
		}
	}
	if err := s.Prune(ctx, suiteEpoch.Add(-24*time.Hour)); err != nil {
		t.Fatalf("Prune: %v", err)
	}
	// The old done entry is forgotten, so the same ID is new again.
	added, err := s.Append(ctx, old)
	if err != nil || !added {
		t.Errorf("Append(pruned) = %v, %v; want added", added, err)
	}
	added, err = s.Append(ctx, recent)
	if err != nil || added {
		t.Errorf("Append(recent done) = %v, %v; want still remembered", added, err)
	}
	// Pending entries are never pruned, however old.
	checkEqual(t, "Pending after Prune", journalIDs(t, s, 10), []int64{1, 3})
}

// testEnqueueDone checks that EnqueueDone stores the replies and marks the
// entry done together, that doing it again changes nothing, and that an
// entry that is not pending is left as it is while the replies are stored.
func testEnqueueDone(t *testing.T, open func(testing.TB) caunoi.Store) {
	ctx := context.Background()
	s := open(t)
	for _, e := range []caunoi.JournalEntry{journalEntry(7001, 1, suiteEpoch), journalEntry(7002, 2, suiteEpoch)} {
		if _, err := s.Append(ctx, e); err != nil {
			t.Fatalf("Append: %v", err)
		}
	}
	replies := []caunoi.OutMessage{
		outMessage("a1", 1, suiteEpoch, suiteEpoch),
		outMessage("a2", 1, suiteEpoch.Add(time.Nanosecond), suiteEpoch.Add(time.Nanosecond)),
	}
	for range 2 { // the second time, as after a crash before the caller knew
		if err := s.EnqueueDone(ctx, replies, 7001); err != nil {
			t.Fatalf("EnqueueDone: %v", err)
		}
		checkEqual(t, "Pending after EnqueueDone", journalIDs(t, s, 10), []int64{7002})
		checkEqual(t, "Due after EnqueueDone", dueKeys(t, s, suiteEpoch.Add(time.Second), 0), []string{"a1"})
	}
	added, err := s.Append(ctx, journalEntry(7001, 1, suiteEpoch))
	if err != nil || added {
		t.Errorf("Append(done by EnqueueDone) = %v, %v; want not added", added, err)
	}
	// An unknown entry: the replies are stored all the same.
	if err := s.EnqueueDone(ctx, []caunoi.OutMessage{outMessage("c1", 3, suiteEpoch, suiteEpoch)}, 9999); err != nil {
		t.Fatalf("EnqueueDone(unknown entry): %v", err)
	}
	checkEqual(t, "Due after EnqueueDone of an unknown entry", dueKeys(t, s, suiteEpoch.Add(time.Second), 0), []string{"a1", "c1"})
	checkEqual(t, "Pending after EnqueueDone of an unknown entry", journalIDs(t, s, 10), []int64{7002})
	// No replies: only the entry is marked done.
	if err := s.EnqueueDone(ctx, nil, 7002); err != nil {
		t.Fatalf("EnqueueDone(no replies): %v", err)
	}
	checkEqual(t, "Pending after EnqueueDone without replies", journalIDs(t, s, 10), []int64{})
	// A message without a key changes nothing, the entry included.
	if _, err := s.Append(ctx, journalEntry(7003, 1, suiteEpoch)); err != nil {
		t.Fatalf("Append: %v", err)
	}
	if err := s.EnqueueDone(ctx, []caunoi.OutMessage{outMessage("", 1, suiteEpoch, suiteEpoch)}, 7003); !errors.Is(err, caunoi.ErrInvalid) {
		t.Errorf("EnqueueDone(message without key) = %v, want ErrInvalid", err)
	}
	checkEqual(t, "Pending after a refused EnqueueDone", journalIDs(t, s, 10), []int64{7003})
}

// testEnqueueDoneQuestions checks that EnqueueDone logs question records
// with the replies and the end of the update, all or nothing: a record
// without an ID refuses the whole change.
func testEnqueueDoneQuestions(t *testing.T, open func(testing.TB) caunoi.Store) {
	ctx := context.Background()
	s := open(t)
	for _, id := range []int64{8001, 8002} {
		if _, err := s.Append(ctx, journalEntry(id, 1, suiteEpoch)); err != nil {
			t.Fatalf("Append: %v", err)
		}
	}
	first, err := s.ReserveQuestionIDs(ctx, 2)
	if err != nil {
		t.Fatalf("ReserveQuestionIDs: %v", err)
	}
	q := caunoi.QuestionRecord{
		ID: caunoi.QuestionID(first), Asker: 30, Commune: "26734", Text: "xin giấy xác nhận tình trạng hôn nhân ở đâu",
		Confidence: caunoi.ConfidenceHigh, Version: "v2", At: suiteEpoch.Add(time.Minute),
		Top: []caunoi.Candidate{{PassageID: "p1", EntryID: "ho-tich/tinh-trang-hon-nhan", Title: "Xác nhận tình trạng hôn nhân", Score: 2.5}},
	}
	reply := outMessage("q1", 1, suiteEpoch, suiteEpoch)
	for range 2 { // the second time, as after a crash before the caller knew
		if err := s.EnqueueDone(ctx, []caunoi.OutMessage{reply}, 8001, q); err != nil {
			t.Fatalf("EnqueueDone with a question: %v", err)
		}
		got, err := s.Question(ctx, q.ID)
		if err != nil {
			t.Fatalf("Question(%s) after EnqueueDone: %v", q.ID, err)
		}
		checkEqual(t, "question logged by EnqueueDone", got, q)
		checkEqual(t, "Pending after EnqueueDone with a question", journalIDs(t, s, 10), []int64{8002})
		checkEqual(t, "Due after EnqueueDone with a question", dueKeys(t, s, suiteEpoch.Add(time.Second), 0), []string{"q1"})
	}
	list, err := s.Questions(ctx, suiteEpoch, suiteEpoch.Add(time.Hour))
	if err != nil {
		t.Fatalf("Questions: %v", err)
	}
	checkEqual(t, "Questions after EnqueueDone", list, []caunoi.QuestionRecord{q})

	// A record without an ID: nothing is stored, the other record, the
	// reply and the end of the update included.
	ok := q
	ok.ID, ok.Text = caunoi.QuestionID(first+1), "hỏi thêm về phí"
	noID := q
	noID.ID = ""
	err = s.EnqueueDone(ctx, []caunoi.OutMessage{outMessage("q2", 1, suiteEpoch.Add(time.Millisecond), suiteEpoch.Add(time.Millisecond))}, 8002, ok, noID)
	checkErr(t, "EnqueueDone(a record without an ID)", err, caunoi.ErrInvalid)
	_, err = s.Question(ctx, ok.ID)
	checkErr(t, "Question after a refused EnqueueDone", err, caunoi.ErrNotFound)
	checkEqual(t, "Pending after a refused EnqueueDone", journalIDs(t, s, 10), []int64{8002})
	checkEqual(t, "Due after a refused EnqueueDone", dueKeys(t, s, suiteEpoch.Add(time.Second), 0), []string{"q1"})
}

// testReserveQuestionIDs checks that reserved numbers are never handed out
// twice, by further reservations or by LogQuestion, and that a count below
// one is refused.
func testReserveQuestionIDs(t *testing.T, open func(testing.TB) caunoi.Store) {
	ctx := context.Background()
	s := open(t)
	for _, n := range []int{0, -3} {
		_, err := s.ReserveQuestionIDs(ctx, n)
		checkErr(t, fmt.Sprintf("ReserveQuestionIDs(%d)", n), err, caunoi.ErrInvalid)
	}
	seen := map[string]bool{}
	take := func(id string) {
		t.Helper()
		if seen[id] {
			t.Fatalf("question ID %s handed out twice", id)
		}
		seen[id] = true
	}
	for round := range 3 {
		first, err := s.ReserveQuestionIDs(ctx, 5)
		if err != nil {
			t.Fatalf("ReserveQuestionIDs: %v", err)
		}
		for n := first; n < first+5; n++ {
			take(caunoi.QuestionID(n))
		}
		q, err := s.LogQuestion(ctx, caunoi.QuestionRecord{Asker: 30, Text: fmt.Sprintf("câu hỏi %d", round), At: suiteEpoch})
		if err != nil {
			t.Fatalf("LogQuestion: %v", err)
		}
		take(q.ID)
	}
	// Concurrent reservations get disjoint blocks.
	var wg sync.WaitGroup
	firsts := make(chan int64, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first, err := s.ReserveQuestionIDs(ctx, 3)
			if err != nil {
				t.Errorf("ReserveQuestionIDs: %v", err)
				return
			}
			firsts <- first
		}()
	}
	wg.Wait()
	close(firsts)
	for first := range firsts {
		for n := first; n < first+3; n++ {
			take(caunoi.QuestionID(n))
		}
	}
	if want := 3*6 + 16*3; len(seen) != want {
		t.Errorf("%d distinct IDs, want %d", len(seen), want)
	}
}
