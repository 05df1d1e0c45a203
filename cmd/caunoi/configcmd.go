package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/caunoi/caunoi/knowledge"
)

func init() {
	register("config", "kiểm tra cấu hình và in cấu hình đang có hiệu lực (đã che bí mật)", runConfig)
}

const configUsage = `Cách dùng: caunoi config check [--config TỆP] [--store ĐỊA_CHỈ] [--handbook THƯ_MỤC]

In cấu hình mà caunoi serve sẽ dùng (mặc định, rồi tệp YAML, rồi biến môi
trường, rồi tham số), với mã bot, khóa webhook, khóa ký và mật khẩu Redis đã
che, rồi liệt kê mọi chỗ chưa đúng. Thoát với mã 2 nếu có chỗ chưa đúng.

Tham số:
  --config TỆP          tệp cấu hình YAML (mặc định: biến CAUNOI_CONFIG)
  --store ĐỊA_CHỈ       kho dữ liệu: bolt:ĐƯỜNG_DẪN hoặc redis://…
  --handbook THƯ_MỤC    thư mục sổ tay (mặc định: sổ tay đóng gói trong chương trình)
  -h, --help            in hướng dẫn này

Biến môi trường:
`

func configHelp(w io.Writer) {
	fmt.Fprint(w, configUsage)
	for _, v := range envVars {
		fmt.Fprintf(w, "  %-17s %s\n", v.Name, v.Help)
	}
}

func runConfig(ctx context.Context, m *Main, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(m.Stderr, "caunoi config: thiếu lệnh con (check)")
		fmt.Fprintln(m.Stderr)
		configHelp(m.Stderr)
		return errUsage
	}
	switch args[0] {
	case "check":
	case "-h", "--help", "help":
		configHelp(m.Stdout)
		return nil
	default:
		fmt.Fprintf(m.Stderr, "caunoi config: không có lệnh con %q\n\n", args[0])
		configHelp(m.Stderr)
		return errUsage
	}
	for _, a := range args[1:] {
		if a == "-h" || a == "--help" || a == "-help" {
			configHelp(m.Stdout)
			return nil
		}
	}
	cfg, problems, err := LoadConfig(args[1:], m.Getenv, io.Discard)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			configHelp(m.Stdout)
			return nil
		}
		if strings.HasPrefix(err.Error(), "flag ") || strings.HasPrefix(err.Error(), "invalid value") {
			fmt.Fprintf(m.Stderr, "caunoi config check: %s\n\n", flagError(err))
			configHelp(m.Stderr)
			return errUsage
		}
		return &exitError{code: 2, err: errors.New(maskYAMLSource(err.Error()))}
	}
	return configCheck(m.Stdout, cfg, problems, time.Now())
}

// configCheck prints cfg with its secrets masked, then every problem with
// it: those found while loading, the handbook's, and Validate's. It returns
// an exit error with status 2 when there is any.
func configCheck(w io.Writer, cfg Config, problems []string, now time.Time) error {
	var codes []string
	if hfs, err := handbookFS(cfg.HandbookDir); err != nil {
		problems = append(problems, "HANDBOOK_DIR: "+err.Error())
	} else {
		h, hp := knowledge.Load(hfs, now)
		if err := hp.Err(); err != nil {
			problems = append(problems, fmt.Sprintf("sổ tay có %d lỗi; xem chi tiết bằng caunoi handbook check", len(hp)))
		}
		if h != nil {
			for _, d := range h.Departments {
				codes = append(codes, d.Code)
			}
		}
	}
	if err := cfg.Validate(codes); err != nil {
		_, list, _ := strings.Cut(err.Error(), "\n  - ")
		if list == "" {
			list = err.Error()
		}
		problems = append(problems, strings.Split(list, "\n  - ")...)
	}

	out, err := yaml.MarshalWithOptions(maskConfig(cfg), yaml.IndentSequence(true))
	if err != nil {
		return fmt.Errorf("in cấu hình: %w", err)
	}
	fmt.Fprintln(w, "# Cấu hình có hiệu lực (bí mật đã được che)")
	fmt.Fprint(w, string(out))
	fmt.Fprintln(w)
	if len(problems) == 0 {
		fmt.Fprintln(w, "Cấu hình hợp lệ.")
		return nil
	}
	fmt.Fprintf(w, "Cấu hình có %d chỗ chưa đúng:\n", len(problems))
	for _, p := range problems {
		fmt.Fprintf(w, "  - %s\n", maskSecrets(p, cfg))
	}
	return &exitError{code: 2, err: fmt.Errorf("cấu hình có %d chỗ chưa đúng", len(problems))}
}

// yamlSourceLine matches a source line that the YAML parser quotes in its
// errors ("   3 | key: value", "> 3 | key: value") and splits off the value.
var yamlSourceLine = regexp.MustCompile(`^(\s*>?\s*\d+ \| \s*-?\s*)([A-Za-z0-9_.-]+)(\s*:\s*)(.+)$`)

// maskYAMLSource masks secret values in the file lines that a YAML error
// message quotes: values of keys that name a token, secret, key or
// password, and the passwords of a store URL.
func maskYAMLSource(msg string) string {
	lines := strings.Split(msg, "\n")
	for i, line := range lines {
		m := yamlSourceLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		key, value := strings.ToLower(m[2]), m[4]
		switch {
		case strings.Contains(key, "token"), strings.Contains(key, "secret"), strings.Contains(key, "key"), strings.Contains(key, "password"):
			value = "****"
		case strings.Contains(key, "store"), strings.Contains(key, "redis"):
			value = redactAll(value, storeSecrets(strings.Trim(value, `"' `)))
		}
		lines[i] = m[1] + m[2] + m[3] + value
	}
	return strings.Join(lines, "\n")
}

// maskConfig returns c for printing: Masked, and in addition any password
// carried in the store URL's query (Sentinel's sentinel_password, for one).
func maskConfig(c Config) Config {
	m := c.Masked()
	m.Store = maskStoreQuery(m.Store)
	return m
}

// isPasswordParam reports whether a store URL query parameter holds a
// secret.
func isPasswordParam(name string) bool {
	return strings.Contains(strings.ToLower(name), "password")
}

// maskStoreQuery masks the values of password query parameters of a store
// URL. An address that does not parse is cut to its scheme if it seems to
// carry credentials.
func maskStoreQuery(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	u, err := url.Parse(s)
	if err != nil {
		scheme, _, _ := strings.Cut(s, "://")
		return scheme + "://…"
	}
	q := u.Query()
	changed := false
	for k := range q {
		if isPasswordParam(k) {
			q.Set(k, "****")
			changed = true
		}
	}
	if changed {
		u.RawQuery = q.Encode()
	}
	// url escapes the mask's asterisks; show them as typed.
	return strings.ReplaceAll(u.String(), "%2A%2A%2A%2A", "****")
}

// storeSecrets returns the secrets in a store URL: the password of its
// user info and the values of its password query parameters.
func storeSecrets(s string) []string {
	u, err := url.Parse(s)
	if err != nil {
		return nil
	}
	var out []string
	if u.User != nil {
		if p, ok := u.User.Password(); ok && p != "" {
			out = append(out, p)
		}
	}
	for k, vs := range u.Query() {
		if isPasswordParam(k) {
			for _, v := range vs {
				if v != "" {
					out = append(out, v)
				}
			}
		}
	}
	return out
}

// maskSecrets removes c's secret values from s.
func maskSecrets(s string, c Config) string {
	return redactAll(s, configSecrets(c))
}
