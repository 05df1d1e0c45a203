package caunoi_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/caunoi/caunoi"
	"github.com/caunoi/caunoi/store/boltstore"
)

// MustOpenEditorsDesk returns a desk on a real bbolt file with an official,
// staff of tu-phap and cong-an, a lead of tu-phap, an editor and a
// stranger registered as an official elsewhere.
func MustOpenEditorsDesk(tb testing.TB) *caunoi.Desk {
	tb.Helper()
	s, err := boltstore.Open(filepath.Join(tb.TempDir(), "caunoi.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	d := &caunoi.Desk{Store: s, Now: func() time.Time { return now }, Departments: []caunoi.Department{
		{Code: "tu-phap", Prefix: "TP", Name: "Sở Tư pháp"}, {Code: "cong-an", Prefix: "CA", Name: "Công an tỉnh"},
	}}
	for _, o := range []caunoi.Official{
		{ID: 1, Name: "Lan", Commune: "00001", Roles: []caunoi.Role{caunoi.RoleOfficial}},
		{ID: 2, Name: "Đức", Department: "tu-phap", Roles: []caunoi.Role{caunoi.RoleStaff}},
		{ID: 3, Name: "Minh", Department: "cong-an", Roles: []caunoi.Role{caunoi.RoleStaff}},
		{ID: 4, Name: "Hà", Roles: []caunoi.Role{caunoi.RoleEditor}},
		{ID: 5, Name: "Tú", Department: "tu-phap", Roles: []caunoi.Role{caunoi.RoleLead}},
		{ID: 6, Name: "Khách", Commune: "00002", Roles: []caunoi.Role{caunoi.RoleOfficial}},
	} {
		if err := s.PutOfficial(context.Background(), o); err != nil {
			tb.Fatal(err)
		}
	}
	return d
}

func TestDraftSource(t *testing.T) {
	d := MustOpenEditorsDesk(t)
	ctx := context.Background()
	out, err := d.Escalate(ctx, 1, caunoi.EscalateRequest{Text: "khai sinh quá hạn", Department: "tu-phap"})
	if err != nil {
		t.Fatal(err)
	}
	n := out.Ticket.Number
	if _, err := d.DraftSource(ctx, 2, n); !errors.Is(err, caunoi.ErrConflict) {
		t.Errorf("draft of a new ticket: %v, want ErrConflict", err)
	}
	if _, err := d.Claim(ctx, 2, n, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Resolve(ctx, 2, n, "", caunoi.Note{}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.DraftSource(ctx, 2, n); !errors.Is(err, caunoi.ErrInvalid) {
		t.Errorf("draft without a written answer: %v, want ErrInvalid", err)
	}
	if _, err := d.Reply(ctx, 2, n, "", caunoi.Note{Text: "Nộp tờ khai và giấy chứng sinh."}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Reopen(ctx, 1, n, "", caunoi.Note{}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.DraftSource(ctx, 2, n); !errors.Is(err, caunoi.ErrConflict) {
		t.Errorf("draft of a reopened ticket: %v, want ErrConflict", err)
	}
	if _, err := d.Resolve(ctx, 2, n, "", caunoi.Note{Text: "Đã hướng dẫn xong."}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		actor caunoi.UserID
		want  error
	}{
		{2, nil}, {5, nil}, {4, nil}, {caunoi.Operator, nil},
		{1, caunoi.ErrForbidden}, {3, caunoi.ErrForbidden}, {6, caunoi.ErrForbidden}, {99, caunoi.ErrForbidden},
	}
	for _, tt := range tests {
		src, err := d.DraftSource(ctx, tt.actor, n)
		if !errors.Is(err, tt.want) {
			t.Errorf("user %d: err %v, want %v", tt.actor, err, tt.want)
			continue
		}
		if err == nil && (len(src.Answers) != 2 || src.Answers[0].Text != "Nộp tờ khai và giấy chứng sinh." ||
			src.Answers[1].Kind != caunoi.EventResolved || src.Department.Name != "Sở Tư pháp" || src.Ticket.Number != n) {
			t.Errorf("user %d: source %+v", tt.actor, src)
		}
	}
	if _, err := d.Confirm(ctx, 1, n, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := d.DraftSource(ctx, 4, n); err != nil {
		t.Errorf("draft of a confirmed ticket: %v", err)
	}
	if _, err := d.DraftSource(ctx, 4, "../../etc/passwd"); !errors.Is(err, caunoi.ErrNotFound) {
		t.Errorf("draft of a forged number: %v, want ErrNotFound", err)
	}
}
