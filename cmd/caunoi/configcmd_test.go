package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runConfigMain runs "caunoi config ARGS" with env as the environment and
// returns its output and exit status.
func runConfigMain(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb strings.Builder
	m := &Main{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }}
	err := m.Run(context.Background(), append([]string{"config"}, args...))
	if err != nil {
		code = exitCode(err)
		errb.WriteString(err.Error())
	}
	return out.String(), errb.String(), code
}

// secrets used by the tests; none may appear in any output.
const (
	testToken          = "7012345678:AAHsecretTokenValue-0123456789xyz"
	testWebhookSecret  = "webhook-secret-value-abcdef"
	testSigningKey     = "signing-key-value-0123456789"
	testRedisPassword  = "redis-password-value-42"
	testSentinelSecret = "sentinel-password-value-77"
)

func TestConfigCheckMasksSecrets(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "caunoi.yaml")
	yamlConfig := "telegram_token: \"" + testToken + "\"\n" +
		"webhook_secret: " + testWebhookSecret + "\n" +
		"signing_key: " + testSigningKey + "\n" +
		"public_url: https://bot.example.gov.vn\n" +
		"groups:\n  tu-phap: -1001234567890\n"
	if err := os.WriteFile(file, []byte(yamlConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	// A mistyped key among the secrets: the parser quotes the lines around
	// it in its error.
	badFile := filepath.Join(dir, "bad.yaml")
	badConfig := "telegram_token: \"" + testToken + "\"\n" +
		"store: \"redis://:" + testRedisPassword + "@redis:6379/0\"\n" +
		"signin_key: " + testSigningKey + "\n" +
		"webhook_secret: " + testWebhookSecret + "\n"
	if err := os.WriteFile(badFile, []byte(badConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		env      map[string]string
		args     []string
		wantCode int
	}{
		{"env", map[string]string{
			"TELEGRAM_TOKEN": testToken, "WEBHOOK_SECRET": testWebhookSecret, "SIGNING_KEY": testSigningKey,
			"PUBLIC_URL": "https://bot.example.gov.vn", "STAFF_GROUPS": "tu-phap=-1001234567890",
			"REDIS_URL": "redis://caunoi:" + testRedisPassword + "@redis:6379/0?prefix=caunoi:",
		}, []string{"check"}, 0},
		{"file", nil, []string{"check", "--config", file}, 0},
		{"bad file", nil, []string{"check", "--config", badFile}, 2},
		{"sentinel", map[string]string{
			"TELEGRAM_TOKEN": testToken, "SIGNING_KEY": testSigningKey, "STAFF_GROUPS": "tu-phap=-1001234567890",
			"STORE": "redis://:" + testSentinelSecret + "@sentinel-1:26379/0?master_name=mymaster&addr=sentinel-2:26379&password=" + testRedisPassword,
		}, []string{"check"}, 0},
		// With problems, every message is printed, and still no secret.
		{"problems", map[string]string{
			"TELEGRAM_TOKEN": testToken, "WEBHOOK_SECRET": testWebhookSecret + "!", "SIGNING_KEY": "short",
			"PUBLIC_URL": "http://bot.example.gov.vn", "STORE": "mysql://root:" + testRedisPassword + "@db/caunoi",
		}, []string{"check"}, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stdout, stderr, code := runConfigMain(t, c.env, c.args...)
			if code != c.wantCode {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, c.wantCode, stdout, stderr)
			}
			for _, s := range []string{testToken, testWebhookSecret, testSigningKey, testRedisPassword, testSentinelSecret, "AAHsecret"} {
				if strings.Contains(stdout, s) || strings.Contains(stderr, s) {
					t.Errorf("output contains the secret %q\nstdout:\n%s\nstderr:\n%s", s, stdout, stderr)
				}
			}
			if !strings.Contains(stdout+stderr, "telegram_token:") || !strings.Contains(stdout+stderr, "****") {
				t.Errorf("output does not show the masked config:\n%s", stdout)
			}
		})
	}
}

func TestConfigCheckProblems(t *testing.T) {
	env := map[string]string{
		"SIGNING_KEY":  testSigningKey,
		"LOG_LEVEL":    "loud",
		"SEND_RATE":    "nhanh",
		"STAFF_GROUPS": "khong-co-so-nay=-100123,tu-phap=42",
		"HOLIDAYS":     "2026-02-30",
		"HANDBOOK_DIR": filepath.Join(t.TempDir(), "khong-co"),
	}
	stdout, _, code := runConfigMain(t, env, "check")
	if code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
	for _, want := range []string{
		"thiếu TELEGRAM_TOKEN",
		`LOG_LEVEL "loud"`,
		`SEND_RATE: "nhanh" không phải số`,
		`không có sở mã "khong-co-so-nay"`,
		"chat_id của tu-phap (42) phải là số âm",
		`HOLIDAYS: "2026-02-30"`,
		"HANDBOOK_DIR:",
		"chỗ chưa đúng",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
}

func TestConfigUsage(t *testing.T) {
	cases := []struct {
		args     []string
		wantCode int
		want     string
	}{
		{nil, 2, "thiếu lệnh con"},
		{[]string{"show"}, 2, `không có lệnh con "show"`},
		{[]string{"check", "--nope"}, 2, "không có tham số -nope"},
		{[]string{"check", "--help"}, 0, "Cách dùng: caunoi config check"},
		{[]string{"--help"}, 0, "SIGNING_KEY"},
	}
	for _, c := range cases {
		stdout, stderr, code := runConfigMain(t, nil, c.args...)
		if code != c.wantCode || !strings.Contains(stdout+stderr, c.want) {
			t.Errorf("config %v: exit %d, output %q; want exit %d and %q", c.args, code, stdout+stderr, c.wantCode, c.want)
		}
	}
}

func TestMaskStoreQuery(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"bolt:/data/caunoi.db", "bolt:/data/caunoi.db"},
		{"redis://redis:6379/0?prefix=caunoi:", "redis://redis:6379/0?prefix=caunoi:"},
		{"redis://:****@s1:26379/0?master_name=m&password=hunter22", "redis://:****@s1:26379/0?master_name=m&password=****"},
	} {
		if got := maskStoreQuery(c.in); got != c.want {
			t.Errorf("maskStoreQuery(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
