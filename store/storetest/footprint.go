package storetest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/caunoi/caunoi"
)

// BenchFootprint measures how much room a store needs, for sizing a
// deployment. size returns what the store takes up now, by the store's own
// measure (the bytes of a bbolt file in use, Redis's used_memory). It
// reports:
//
//   - B/ticket: a ticket that went the usual way, with its timeline of five
//     events (created, claimed, a reply of about 400 characters, resolved,
//     rated) and its index entries;
//   - B/question: a logged question of about 100 characters with five
//     search candidates, as every question asked leaves.
//
// Each is the growth of size over b.N of them, so run it with a -benchtime
// of a few thousand (-benchtime 5000x).
func BenchFootprint(b *testing.B, open func(tb testing.TB) caunoi.Store, size func(tb testing.TB, s caunoi.Store) int64) {
	ctx := context.Background()
	b.Run("ticket", func(b *testing.B) {
		s := open(b)
		before := size(b, s)
		err := parallel(b.N, func(i int) error {
			at := suiteEpoch.Add(time.Duration(i) * time.Minute)
			tk := footprintTicket(i, at)
			got, _, err := s.CreateTicket(ctx, "TP", tk, createdEvent(tk.Asker, at))
			if err != nil {
				return err
			}
			for _, step := range footprintSteps(at) {
				if _, err := s.UpdateTicket(ctx, got.Number, step); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(size(b, s)-before)/float64(b.N), "B/ticket")
	})
	b.Run("question", func(b *testing.B) {
		s := open(b)
		before := size(b, s)
		err := parallel(b.N, func(i int) error {
			_, err := s.LogQuestion(ctx, footprintQuestion(i, suiteEpoch.Add(time.Duration(i)*time.Second)))
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(size(b, s)-before)/float64(b.N), "B/question")
	})
}

// footprintText is Vietnamese of about n characters.
func footprintText(i, n int) string {
	words := []string{"hồ sơ", "đăng ký", "khai sinh", "xã", "phường", "Sở Tư pháp", "giấy chứng nhận", "thửa đất", "một cửa", "chứng thực", "bản sao", "thời hạn", "ngày làm việc", "người yêu cầu"}
	var sb strings.Builder
	for j := 0; sb.Len() < n; j++ {
		if j > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(words[(i+j*7)%len(words)])
	}
	return sb.String()
}

func footprintCandidates(i, n int) []caunoi.Candidate {
	out := make([]caunoi.Candidate, n)
	for j := range out {
		entry := fmt.Sprintf("ho-tich/thu-tuc-%d", (i+j)%90)
		out[j] = caunoi.Candidate{PassageID: entry + "#ho-so-can-nop", EntryID: entry, Title: "Đăng ký khai sinh có yếu tố nước ngoài", Section: "Hồ sơ cần nộp", Score: 7.25 - float64(j), Confidence: caunoi.Confidence(1)}
	}
	return out
}

// footprintTicket is sampleTicket with a longer question, three
// candidates, a full-length file reference and an idempotency key.
func footprintTicket(i int, at time.Time) caunoi.Ticket {
	t := sampleTicket("tu-phap", caunoi.UserID(100000+i%6000), at)
	t.Commune = fmt.Sprintf("%05d", 20000+i%124)
	t.Question = footprintText(i, 150)
	t.Results = footprintCandidates(i, 3)
	t.Attachments[0].Ref = "AgACAgIAAxkBAAIBx2Zk1q9f3mW8uT0aQwE5bL7cR2dFAALm3jEb"
	t.IdemKey = fmt.Sprintf("esc:%d:Q%d", t.Asker, i)
	return t
}

// footprintSteps are the changes of a ticket that went the usual way.
func footprintSteps(at time.Time) []func(*caunoi.Ticket) ([]caunoi.Event, error) {
	const staff = 5001
	step := func(d time.Duration, kind caunoi.EventKind, to caunoi.Status, text string, change func(*caunoi.Ticket, time.Time)) func(*caunoi.Ticket) ([]caunoi.Event, error) {
		return func(t *caunoi.Ticket) ([]caunoi.Event, error) {
			when := at.Add(d)
			from := t.Status
			t.Status, t.Updated = to, when
			change(t, when)
			return []caunoi.Event{{Kind: kind, Actor: staff, At: when, From: from, To: to, Text: text}}, nil
		}
	}
	return []func(*caunoi.Ticket) ([]caunoi.Event, error){
		step(time.Hour, caunoi.EventClaimed, caunoi.StatusClaimed, "", func(t *caunoi.Ticket, _ time.Time) { t.Assignee = staff }),
		step(3*time.Hour, caunoi.EventReplied, caunoi.StatusAnswered, footprintText(3, 400), func(t *caunoi.Ticket, when time.Time) { t.FirstResponse = when }),
		step(5*time.Hour, caunoi.EventConfirmed, caunoi.StatusResolved, "", func(t *caunoi.Ticket, when time.Time) { t.ResolvedAt = when }),
		step(5*time.Hour+time.Minute, caunoi.EventRated, caunoi.StatusResolved, "", func(t *caunoi.Ticket, _ time.Time) { t.Rating = 5 }),
	}
}

func footprintQuestion(i int, at time.Time) caunoi.QuestionRecord {
	return caunoi.QuestionRecord{
		Asker:      caunoi.UserID(100000 + i%6000),
		Commune:    fmt.Sprintf("%05d", 20000+i%124),
		Text:       footprintText(i, 100),
		Confidence: caunoi.Confidence(2),
		Top:        footprintCandidates(i, 5),
		Version:    "2026-11-20.3",
		At:         at,
	}
}
