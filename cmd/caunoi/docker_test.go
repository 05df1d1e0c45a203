package main

import (
	"bufio"
	"bytes"
	"debug/elf"
	"encoding/json"
	"errors"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
)

// Docker does not run where the tests run. These tests check instead that
// the Dockerfile and docker-compose.yml say what Cầu Nối needs, and build
// the binary exactly as the Dockerfile does.

// repoRoot is the module root, two levels above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd  string // upper case: FROM, RUN, ...
	args string
	line int
}

func parseDockerfile(t *testing.T, path string) []instruction {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []instruction
	var cur strings.Builder
	start := 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if cur.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if cur.Len() == 0 {
			start = n
		}
		if strings.HasPrefix(line, "#") {
			continue // a comment inside a continued instruction
		}
		if body, ok := strings.CutSuffix(line, "\\"); ok {
			cur.WriteString(body + " ")
			continue
		}
		cur.WriteString(line)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args), line: start})
		cur.Reset()
	}
	if cur.Len() > 0 {
		t.Fatalf("%s:%d: instruction continues past the end of the file", path, start)
	}
	return out
}

// shellWords splits a command line into words, honouring double and single
// quotes; enough for the Dockerfile's RUN lines.
func shellWords(s string) ([]string, error) {
	var words []string
	var w strings.Builder
	inWord := false
	var quote rune
	for _, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				w.WriteRune(r)
			}
		case r == '"' || r == '\'':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		default:
			w.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, errors.New("unclosed quote")
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, nil
}

// dockerBuild is the go build command of the Dockerfile.
type dockerBuild struct {
	env   []string // assignments before "go"
	flags []string // between "build" and "-o"
	out   string
	pkg   string
}

// buildCommand finds the RUN instruction that runs go build and splits it.
func buildCommand(t *testing.T, ins []instruction) dockerBuild {
	t.Helper()
	for _, in := range ins {
		if in.cmd != "RUN" || !strings.Contains(in.args, "go build") {
			continue
		}
		words, err := shellWords(in.args)
		if err != nil {
			t.Fatalf("Dockerfile:%d: %v", in.line, err)
		}
		var b dockerBuild
		i := 0
		for ; i < len(words) && strings.Contains(words[i], "="); i++ {
			b.env = append(b.env, words[i])
		}
		if i+1 >= len(words) || words[i] != "go" || words[i+1] != "build" {
			t.Fatalf("Dockerfile:%d: want [ENV=VALUE...] go build ..., got %q", in.line, in.args)
		}
		rest := words[i+2:]
		for j := 0; j < len(rest); j++ {
			switch {
			case rest[j] == "-o" && j+1 < len(rest):
				b.out = rest[j+1]
				j++
			case strings.HasPrefix(rest[j], "-"):
				b.flags = append(b.flags, rest[j])
				if rest[j] == "-ldflags" && j+1 < len(rest) {
					b.flags = append(b.flags, rest[j+1])
					j++
				}
			default:
				b.pkg = rest[j]
			}
		}
		return b
	}
	t.Fatal("Dockerfile: no RUN instruction with go build")
	return dockerBuild{}
}

// TestDockerfile checks the Dockerfile's stages, flags, user, volume, ports
// and entry point.
func TestDockerfile(t *testing.T) {
	root := repoRoot(t)
	ins := parseDockerfile(t, filepath.Join(root, "Dockerfile"))
	var froms []string
	last := map[string]string{}
	var envs, exposes []string
	for _, in := range ins {
		switch in.cmd {
		case "FROM":
			froms = append(froms, in.args)
		case "ENV":
			envs = append(envs, strings.Fields(in.args)...)
		case "EXPOSE":
			exposes = append(exposes, strings.Fields(in.args)...)
		}
		last[in.cmd] = in.args
	}
	if len(froms) != 2 {
		t.Fatalf("FROM instructions = %q, want a build stage and a runtime stage", froms)
	}
	goMod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(goMod)
	if goVersion == nil {
		t.Fatal("go.mod has no go directive")
	}
	if want := "golang:" + string(goVersion[1]) + " AS build"; froms[0] != want {
		t.Errorf("build stage FROM %q, want %q (the Go of go.mod)", froms[0], want)
	}
	if want := "gcr.io/distroless/static-debian12:nonroot"; froms[1] != want {
		t.Errorf("runtime stage FROM %q, want %q", froms[1], want)
	}

	b := buildCommand(t, ins)
	if !slices.Contains(b.env, "CGO_ENABLED=0") {
		t.Errorf("go build env = %q, want CGO_ENABLED=0", b.env)
	}
	if want := []string{"-trimpath", "-ldflags", "-s -w"}; !slices.Equal(b.flags, want) {
		t.Errorf("go build flags = %q, want %q", b.flags, want)
	}
	if b.pkg != "./cmd/caunoi" {
		t.Errorf("go build package = %q, want ./cmd/caunoi", b.pkg)
	}
	var entry, cmd []string
	if err := json.Unmarshal([]byte(last["ENTRYPOINT"]), &entry); err != nil || !slices.Equal(entry, []string{"/caunoi"}) {
		t.Errorf("ENTRYPOINT %s, want [\"/caunoi\"] (%v)", last["ENTRYPOINT"], err)
	}
	if err := json.Unmarshal([]byte(last["CMD"]), &cmd); err != nil || !slices.Equal(cmd, []string{"serve"}) {
		t.Errorf("CMD %s, want [\"serve\"] (%v)", last["CMD"], err)
	}
	copied := false
	for _, args := range findAll(ins, "COPY") {
		f := strings.Fields(args)
		copied = copied || (slices.Contains(f, "--from=build") && len(f) >= 3 && f[len(f)-2] == b.out && f[len(f)-1] == "/caunoi")
	}
	if !copied {
		t.Errorf("the runtime stage does not copy %s from the build stage to /caunoi", b.out)
	}
	if last["USER"] != "nonroot:nonroot" {
		t.Errorf("USER %q, want nonroot:nonroot", last["USER"])
	}
	if last["VOLUME"] != `["/data"]` || !slices.Contains(envs, "DATA_DIR=/data") {
		t.Errorf("VOLUME %s with ENV %q, want /data and DATA_DIR=/data", last["VOLUME"], envs)
	}
	for _, env := range []string{"LISTEN", "ADMIN_LISTEN"} {
		port := ""
		for _, e := range envs {
			if v, ok := strings.CutPrefix(e, env+"="); ok {
				_, port, _ = net.SplitHostPort(v)
			}
		}
		if port == "" || !slices.Contains(exposes, port) {
			t.Errorf("%s's port %q is not in EXPOSE %q", env, port, exposes)
		}
	}
}

func findAll(ins []instruction, cmd string) []string {
	var out []string
	for _, in := range ins {
		if in.cmd == cmd {
			out = append(out, in.args)
		}
	}
	return out
}

// TestDockerBinary builds ./cmd/caunoi with the Dockerfile's environment and
// flags, checks that the result is a static, stripped binary without local
// paths, and runs it.
func TestDockerBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the whole binary; skipped with -short")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	root := repoRoot(t)
	b := buildCommand(t, parseDockerfile(t, filepath.Join(root, "Dockerfile")))
	bin := filepath.Join(t.TempDir(), "caunoi")
	args := append([]string{"build"}, b.flags...)
	args = append(args, "-o", bin, b.pkg)
	build := exec.Command(goBin, args...)
	build.Dir = root
	build.Env = append(os.Environ(), b.env...)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}

	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary has a program interpreter (PT_INTERP): it is not static and will not start on distroless/static")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the binary needs shared libraries %q", libs)
	}
	if _, err := f.Symbols(); !errors.Is(err, elf.ErrNoSymbols) {
		t.Errorf("the binary has a symbol table (Symbols: %v); -ldflags \"-s -w\" strips it", err)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte(root+"/")) {
		t.Errorf("the binary contains the build directory %s; -trimpath removes it", root)
	}

	out, err := exec.Command(bin, "help").CombinedOutput()
	if err != nil {
		t.Fatalf("caunoi help: %v\n%s", err, out)
	}
	for _, want := range []string{"Cách dùng: caunoi", "serve", "healthcheck", "backup"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("caunoi help lacks %q:\n%s", want, out)
		}
	}
}

// composeFile is the part of docker-compose.yml the tests read.
type composeFile struct {
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Image       string            `yaml:"image"`
	Build       any               `yaml:"build"`
	Command     []string          `yaml:"command"`
	EnvFile     any               `yaml:"env_file"`
	Environment map[string]string `yaml:"environment"`
	Volumes     []string          `yaml:"volumes"`
	Ports       []string          `yaml:"ports"`
	Healthcheck *struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
	DependsOn map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
}

// mountedAt returns the source of the volume s mounts at target.
func (s composeService) mountedAt(target string) string {
	for _, v := range s.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && parts[1] == target {
			return parts[0]
		}
	}
	return ""
}

func TestDockerCompose(t *testing.T) {
	root := repoRoot(t)
	data, err := os.ReadFile(filepath.Join(root, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(data, &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	redis, ok := c.Services["redis"]
	if !ok {
		t.Fatal("no redis service")
	}
	bot, ok := c.Services["bot"]
	if !ok {
		t.Fatal("no bot service")
	}

	flagValue := func(args []string, name string) string {
		i := slices.Index(args, name)
		if i < 0 || i+1 >= len(args) {
			return ""
		}
		return args[i+1]
	}
	if len(redis.Command) == 0 || redis.Command[0] != "redis-server" {
		t.Errorf("redis command %q, want redis-server …", redis.Command)
	}
	if v := flagValue(redis.Command, "--appendonly"); v != "yes" {
		t.Errorf("redis --appendonly %q, want yes", v)
	}
	if v := flagValue(redis.Command, "--appendfsync"); v != "everysec" {
		t.Errorf("redis --appendfsync %q, want everysec", v)
	}
	if redis.mountedAt("/data") == "" {
		t.Error("redis keeps its AOF in /data, but no volume is mounted there")
	}

	for name, s := range map[string]composeService{"redis": redis, "bot": bot} {
		if s.Healthcheck == nil || len(s.Healthcheck.Test) < 2 {
			t.Errorf("%s has no healthcheck", name)
		}
	}
	if bot.Healthcheck != nil {
		hc := bot.Healthcheck.Test
		if !slices.Equal(hc, []string{"CMD", "/caunoi", "healthcheck"}) {
			t.Errorf("bot healthcheck %q, want [CMD /caunoi healthcheck] (no shell in the image)", hc)
		}
		if _, ok := commands["healthcheck"]; !ok {
			t.Error("the bot's healthcheck runs caunoi healthcheck, which is not a command")
		}
	}
	if dep, ok := bot.DependsOn["redis"]; !ok || dep.Condition != "service_healthy" {
		t.Errorf("bot depends_on redis = %+v (present %v), want condition service_healthy", dep, ok)
	}

	store := bot.Environment["STORE"]
	if store == "" {
		store = bot.Environment["REDIS_URL"]
	}
	u, err := url.Parse(store)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Hostname() != "redis" {
		t.Errorf("bot STORE/REDIS_URL %q, want redis://redis:… (the redis service)", store)
	}
	if bot.Environment["DATA_DIR"] != "/data" {
		t.Errorf("bot DATA_DIR %q, want /data", bot.Environment["DATA_DIR"])
	}
	vol := bot.mountedAt("/data")
	if vol == "" {
		t.Error("no volume for the bot's /data")
	} else if _, ok := c.Volumes[vol]; !ok && !strings.HasPrefix(vol, ".") && !strings.HasPrefix(vol, "/") {
		t.Errorf("bot mounts volume %q, not declared under volumes", vol)
	}
	if ef, ok := bot.EnvFile.(string); !ok || ef != ".env" {
		t.Errorf("bot env_file %v, want .env", bot.EnvFile)
	}
	if bot.Build == nil {
		t.Error("bot has no build: it should build the Dockerfile")
	}
	_, adminPort, _ := net.SplitHostPort(bot.Environment["ADMIN_LISTEN"])
	published := false
	for _, p := range bot.Ports {
		published = published || strings.HasSuffix(p, ":"+adminPort)
	}
	if adminPort == "" || !published {
		t.Errorf("admin port %q (ADMIN_LISTEN %q) is not published in %q", adminPort, bot.Environment["ADMIN_LISTEN"], bot.Ports)
	}
}

func TestShellWords(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{`CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/caunoi ./cmd/caunoi`,
			[]string{"CGO_ENABLED=0", "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", "/out/caunoi", "./cmd/caunoi"}},
		{`echo 'a b'  c`, []string{"echo", "a b", "c"}},
		{`x=""`, []string{"x="}},
	}
	for _, c := range cases {
		got, err := shellWords(c.in)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("shellWords(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	if _, err := shellWords(`a "b`); err == nil {
		t.Error(`shellWords("a \"b") did not report the unclosed quote`)
	}
}
