package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/caunoi/caunoi"
)

func testOfficials(t *testing.T, open func(testing.TB) caunoi.Store) {
	ctx := context.Background()
	s := open(t)

	_, err := s.Official(ctx, 404)
	checkErr(t, "Official(missing)", err, caunoi.ErrNotFound)

	people := []caunoi.Official{
		{ID: 30, Name: "Trần Thị Hoa", Position: "Công chức Tư pháp - Hộ tịch", Commune: "26734", Roles: []caunoi.Role{caunoi.RoleOfficial}, Registered: suiteEpoch},
		{ID: 10, Name: "Nguyễn Văn An", Position: "Chuyên viên", Department: "tu-phap", Roles: []caunoi.Role{caunoi.RoleStaff}, Registered: suiteEpoch},
		{ID: 20, Name: "Lê Minh Đức", Position: "Phó Giám đốc", Department: "tu-phap", Roles: []caunoi.Role{caunoi.RoleStaff, caunoi.RoleLead}, Registered: suiteEpoch},
		{ID: 40, Name: "Phạm Thu Trang", Department: "xay-dung", Roles: []caunoi.Role{caunoi.RoleStaff, caunoi.RoleEditor}, Registered: suiteEpoch.Add(time.Hour)},
	}
	for _, o := range people {
		if err := s.PutOfficial(ctx, o); err != nil {
			t.Fatalf("PutOfficial(%d): %v", o.ID, err)
		}
	}
	for _, o := range people {
		got, err := s.Official(ctx, o.ID)
		if err != nil {
			t.Fatalf("Official(%d): %v", o.ID, err)
		}
		checkEqual(t, fmt.Sprintf("Official(%d)", o.ID), got, o)
	}

	ids := func(role caunoi.Role, dept string) []caunoi.UserID {
		t.Helper()
		list, err := s.Officials(ctx, role, dept)
		if err != nil {
			t.Fatalf("Officials(%q, %q): %v", role, dept, err)
		}
		out := []caunoi.UserID{}
		for _, o := range list {
			out = append(out, o.ID)
		}
		return out
	}
	tests := []struct {
		role caunoi.Role
		dept string
		want []caunoi.UserID
	}{
		{"", "", []caunoi.UserID{10, 20, 30, 40}},
		{caunoi.RoleStaff, "", []caunoi.UserID{10, 20, 40}},
		{"", "tu-phap", []caunoi.UserID{10, 20}},
		{caunoi.RoleLead, "tu-phap", []caunoi.UserID{20}},
		{caunoi.RoleEditor, "tu-phap", []caunoi.UserID{}},
		{caunoi.RoleOfficial, "", []caunoi.UserID{30}},
		{caunoi.RoleAdmin, "", []caunoi.UserID{}},
	}
	for _, tt := range tests {
		checkEqual(t, fmt.Sprintf("Officials(%q, %q)", tt.role, tt.dept), ids(tt.role, tt.dept), tt.want)
	}

	// Replacing a person moves them between roles and departments.
	moved := people[1]
	moved.Department = "xay-dung"
	moved.Roles = []caunoi.Role{caunoi.RoleStaff, caunoi.RoleLead}
	if err := s.PutOfficial(ctx, moved); err != nil {
		t.Fatalf("PutOfficial(replace): %v", err)
	}
	got, err := s.Official(ctx, moved.ID)
	if err != nil {
		t.Fatalf("Official after replace: %v", err)
	}
	checkEqual(t, "Official after replace", got, moved)
	checkEqual(t, "Officials(\"\", tu-phap) after move", ids("", "tu-phap"), []caunoi.UserID{20})
	checkEqual(t, "Officials(\"\", xay-dung) after move", ids("", "xay-dung"), []caunoi.UserID{10, 40})
	checkEqual(t, "Officials(lead, \"\") after move", ids(caunoi.RoleLead, ""), []caunoi.UserID{10, 20})
}

func testInvites(t *testing.T, open func(testing.TB) caunoi.Store) {
	ctx := context.Background()
	s := open(t)
	now := suiteEpoch

	_, err := s.Invite(ctx, "KHONGCO")
	checkErr(t, "Invite(missing)", err, caunoi.ErrNotFound)
	_, err = s.RedeemInvite(ctx, "KHONGCO", caunoi.Official{ID: 1}, now)
	checkErr(t, "RedeemInvite(missing)", err, caunoi.ErrNotFound)

	staff := caunoi.Invite{Code: "TP-7K2Q", Role: caunoi.RoleStaff, Department: "tu-phap", CreatedBy: 1, Created: now, Expires: now.Add(72 * time.Hour)}
	official := caunoi.Invite{Code: "XA-91PD", Role: caunoi.RoleOfficial, Commune: "26734", CreatedBy: 1, Created: now, Expires: now.Add(72 * time.Hour)}
	stale := caunoi.Invite{Code: "CU-0001", Role: caunoi.RoleOfficial, Commune: "26737", CreatedBy: 1, Created: now.Add(-96 * time.Hour), Expires: now.Add(-24 * time.Hour)}
	for _, inv := range []caunoi.Invite{staff, official, stale} {
		if err := s.CreateInvite(ctx, inv); err != nil {
			t.Fatalf("CreateInvite(%s): %v", inv.Code, err)
		}
	}
	dup := staff
	dup.Role = caunoi.RoleAdmin
	checkErr(t, "CreateInvite(duplicate)", s.CreateInvite(ctx, dup), caunoi.ErrConflict)
	got, err := s.Invite(ctx, staff.Code)
	if err != nil {
		t.Fatalf("Invite: %v", err)
	}
	checkEqual(t, "Invite after duplicate create", got, staff)

	// An editor who already answers for nothing becomes staff of tu-phap.
	person := caunoi.Official{ID: 501, Name: "Đỗ Thị Lan", Roles: []caunoi.Role{caunoi.RoleEditor}, Registered: now}
	at := now.Add(time.Hour)
	o, err := s.RedeemInvite(ctx, staff.Code, person, at)
	if err != nil {
		t.Fatalf("RedeemInvite: %v", err)
	}
	want := person
	want.Roles = []caunoi.Role{caunoi.RoleEditor, caunoi.RoleStaff}
	want.Department = "tu-phap"
	checkEqual(t, "RedeemInvite result", o, want)
	stored, err := s.Official(ctx, person.ID)
	if err != nil {
		t.Fatalf("Official after redeem: %v", err)
	}
	checkEqual(t, "Official after redeem", stored, want)
	used, err := s.Invite(ctx, staff.Code)
	if err != nil {
		t.Fatalf("Invite after redeem: %v", err)
	}
	if used.UsedBy != person.ID || !used.UsedAt.Equal(at) {
		t.Errorf("Invite after redeem: UsedBy %d UsedAt %v, want %d %v", used.UsedBy, used.UsedAt, person.ID, at)
	}

	// A used code and an expired code are refused and store nobody.
	_, err = s.RedeemInvite(ctx, staff.Code, caunoi.Official{ID: 502, Name: "Kẻ đến sau"}, at)
	checkErr(t, "RedeemInvite(used)", err, caunoi.ErrExpired)
	_, err = s.Official(ctx, 502)
	checkErr(t, "Official(refused redeemer)", err, caunoi.ErrNotFound)
	_, err = s.RedeemInvite(ctx, stale.Code, caunoi.Official{ID: 503}, at)
	checkErr(t, "RedeemInvite(expired)", err, caunoi.ErrExpired)
	_, err = s.Official(ctx, 503)
	checkErr(t, "Official(expired redeemer)", err, caunoi.ErrNotFound)
	still, err := s.Invite(ctx, stale.Code)
	if err != nil {
		t.Fatalf("Invite(expired): %v", err)
	}
	checkEqual(t, "expired invite after refused redeem", still, stale)

	// Expiry is exclusive: at Expires the code no longer works.
	_, err = s.RedeemInvite(ctx, official.Code, caunoi.Official{ID: 504}, official.Expires)
	checkErr(t, "RedeemInvite(at expiry)", err, caunoi.ErrExpired)
	o, err = s.RedeemInvite(ctx, official.Code, caunoi.Official{ID: 504, Name: "Võ Văn Tâm"}, official.Expires.Add(-time.Second))
	if err != nil {
		t.Fatalf("RedeemInvite(official): %v", err)
	}
	checkEqual(t, "RedeemInvite(official)", o, caunoi.Official{ID: 504, Name: "Võ Văn Tâm", Commune: "26734", Roles: []caunoi.Role{caunoi.RoleOfficial}})
}

func testRedeemConcurrent(t *testing.T, open func(testing.TB) caunoi.Store) {
	ctx := context.Background()
	s := open(t)
	inv := caunoi.Invite{Code: "DUY-NHAT", Role: caunoi.RoleOfficial, Commune: "00004", Created: suiteEpoch, Expires: suiteEpoch.Add(24 * time.Hour)}
	if err := s.CreateInvite(ctx, inv); err != nil {
		t.Fatalf("CreateInvite: %v", err)
	}
	const n = 20
	errs := make([]error, n)
	race(n, func(i int) {
		_, errs[i] = s.RedeemInvite(ctx, inv.Code, caunoi.Official{ID: caunoi.UserID(1000 + i)}, suiteEpoch.Add(time.Minute))
	})
	winner := caunoi.UserID(0)
	for i, err := range errs {
		switch {
		case err == nil:
			if winner != 0 {
				t.Errorf("redeemers %d and %d both succeeded", winner, 1000+i)
			}
			winner = caunoi.UserID(1000 + i)
		case !errors.Is(err, caunoi.ErrExpired):
			t.Errorf("redeemer %d: got error %v, want %v", 1000+i, err, caunoi.ErrExpired)
		}
	}
	if winner == 0 {
		t.Fatal("no redeemer succeeded")
	}
	got, err := s.Invite(ctx, inv.Code)
	if err != nil {
		t.Fatalf("Invite: %v", err)
	}
	if got.UsedBy != winner {
		t.Errorf("invite used by %d, want the winner %d", got.UsedBy, winner)
	}
	list, err := s.Officials(ctx, "", "")
	if err != nil {
		t.Fatalf("Officials: %v", err)
	}
	if len(list) != 1 || list[0].ID != winner {
		t.Errorf("stored officials %+v, want only %d", list, winner)
	}
}

func testCommunes(t *testing.T, open func(testing.TB) caunoi.Store) {
	ctx := context.Background()
	s := open(t)

	_, err := s.Commune(ctx, "26734")
	checkErr(t, "Commune(missing)", err, caunoi.ErrNotFound)
	list, err := s.Communes(ctx)
	if err != nil || len(list) != 0 {
		t.Fatalf("Communes(empty) = %v, %v; want none", list, err)
	}

	first := []caunoi.Commune{
		{Code: "26737", Name: "Phường Sài Gòn", Province: "Thành phố Hồ Chí Minh", Former: []string{"Phường Bến Nghé", "Phường Đa Kao", "Phường Nguyễn Thái Bình"}},
		{Code: "00004", Name: "Phường Ba Đình", Province: "Thành phố Hà Nội", Former: []string{"Phường Quán Thánh", "Phường Trúc Bạch"}},
		{Code: "10507", Name: "Xã Hòa Bình", Province: "Tỉnh Hưng Yên"},
	}
	if err := s.ReplaceCommunes(ctx, first); err != nil {
		t.Fatalf("ReplaceCommunes: %v", err)
	}
	list, err = s.Communes(ctx)
	if err != nil {
		t.Fatalf("Communes: %v", err)
	}
	checkEqual(t, "Communes ordered by code", list, []caunoi.Commune{first[1], first[2], first[0]})
	got, err := s.Commune(ctx, "26737")
	if err != nil {
		t.Fatalf("Commune: %v", err)
	}
	checkEqual(t, "Commune(26737)", got, first[0])

	second := []caunoi.Commune{{Code: "31120", Name: "Đặc khu Phú Quốc", Province: "Tỉnh An Giang"}}
	if err := s.ReplaceCommunes(ctx, second); err != nil {
		t.Fatalf("ReplaceCommunes(second): %v", err)
	}
	_, err = s.Commune(ctx, "26737")
	checkErr(t, "Commune(replaced away)", err, caunoi.ErrNotFound)
	list, err = s.Communes(ctx)
	if err != nil {
		t.Fatalf("Communes: %v", err)
	}
	checkEqual(t, "Communes after replace", list, second)
}
