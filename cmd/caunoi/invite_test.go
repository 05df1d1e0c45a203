package main

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/caunoi/caunoi"
)

var inviteLine = regexp.MustCompile(`Mã mời:\s+([A-Za-z0-9_-]+)\n`)

func TestInvite(t *testing.T) {
	url := tempStoreURL(t)
	if _, errOut, err := runCLI(t, "communes", "import", samplePath, "--store", url); err != nil {
		t.Fatalf("import: %v %s", err, errOut)
	}
	tests := []struct {
		name  string
		args  []string
		role  caunoi.Role
		place string
	}{
		{"official", []string{"--role", "official", "--commune", "LCH-37", "--bot", "@CauNoiLaiChauBot"}, caunoi.RoleOfficial, "Xã Mù Cả, Tỉnh Lai Châu"},
		{"staff", []string{"--role=staff", "--department=tu-phap", "--ttl", "72h"}, caunoi.RoleStaff, "Sở Tư pháp"},
		{"admin", []string{"--role", "admin"}, caunoi.RoleAdmin, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, err := runCLI(t, append([]string{"invite", "--store", url}, tt.args...)...)
			if err != nil {
				t.Fatalf("err = %v; stderr %s", err, errOut)
			}
			m := inviteLine.FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("no code in output:\n%s", out)
			}
			code := m[1]
			if !caunoi.ValidInviteCode(code) {
				t.Errorf("code %q is not a deep-link payload", code)
			}
			if tt.place != "" && !strings.Contains(out, tt.place) {
				t.Errorf("output lacks %q:\n%s", tt.place, out)
			}
			if tt.name == "official" && !strings.Contains(out, "https://t.me/CauNoiLaiChauBot?start="+code) {
				t.Errorf("output lacks the deep link:\n%s", out)
			}
			withStore(t, url, func(s caunoi.Store) {
				inv, err := s.Invite(context.Background(), code)
				if err != nil {
					t.Fatalf("stored invite: %v", err)
				}
				if inv.Role != tt.role || inv.CreatedBy != caunoi.Operator || !inv.UsedAt.IsZero() {
					t.Errorf("stored invite = %+v", inv)
				}
				if tt.name == "staff" && inv.Expires.Sub(inv.Created).Hours() != 72 {
					t.Errorf("validity = %v, want 72h", inv.Expires.Sub(inv.Created))
				}
			})
		})
	}
}

func TestInviteBadInput(t *testing.T) {
	url := tempStoreURL(t)
	if _, _, err := runCLI(t, "communes", "import", samplePath, "--store", url); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
		code int
	}{
		{"no role", nil, "thiếu --role", 2},
		{"unknown role", []string{"--role", "boss"}, "vai trò \"boss\"", 2},
		{"official without commune", []string{"--role", "official"}, "--commune", 2},
		{"official with department", []string{"--role", "official", "--commune", "LCH-01", "--department", "tu-phap"}, "không dùng --department", 2},
		{"staff without department", []string{"--role", "staff"}, "--department", 2},
		{"lead with commune", []string{"--role", "lead", "--department", "tu-phap", "--commune", "LCH-01"}, "không dùng --commune", 2},
		{"editor with commune", []string{"--role", "editor", "--commune", "LCH-01"}, "không gắn với xã", 2},
		{"unknown department", []string{"--role", "staff", "--department", "so-gi-do"}, "không có sở mã", 2},
		{"bad ttl", []string{"--role", "admin", "--ttl", "bảy ngày"}, "--ttl", 2},
		{"negative ttl", []string{"--role", "admin", "--ttl", "-1h"}, "--ttl", 2},
		{"bad bot", []string{"--role", "admin", "--bot", "caunoi"}, "tên bot", 2},
		{"extra argument", []string{"--role", "admin", "thừa"}, "không nhận tham số", 2},
		{"unknown commune", []string{"--role", "official", "--commune", "99999"}, "không có xã, phường mã \"99999\"", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, err := runCLI(t, append([]string{"invite", "--store", url}, tt.args...)...)
			if exitCode(err) != tt.code {
				t.Fatalf("err = %v (exit %d), want exit %d", err, exitCode(err), tt.code)
			}
			msg := errOut
			if !errors.Is(err, errUsage) {
				msg = err.Error()
			}
			if !strings.Contains(msg, tt.want) {
				t.Errorf("message %q lacks %q", msg, tt.want)
			}
			if strings.Contains(out, "Mã mời") {
				t.Errorf("printed a code on bad input:\n%s", out)
			}
		})
	}
}
