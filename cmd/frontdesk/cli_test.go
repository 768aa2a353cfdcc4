package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// newDataDir returns a data directory as the first `frontdesk serve` leaves
// it: a database and a master key.
func newDataDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cfg, _, err := parseServerConfig("serve", []string{"--data-dir", dir}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	store, err := openStore(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// runCLI runs frontdesk with args and returns the exit code, stdout and stderr.
func runCLI(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// dataKeys counts the data keys of a data directory's store.
func dataKeys(t *testing.T, dir string) int {
	t.Helper()
	cfg, _, err := parseServerConfig("keys", []string{"--data-dir", dir}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	store, err := openExistingStore(context.Background(), cfg)
	if err != nil {
		t.Fatalf("open %s: %v", dir, err)
	}
	defer store.Close()
	keys, err := store.Keys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, k := range keys {
		if k.Purpose == "data" {
			n++
		}
	}
	return n
}

func TestKeysRotateNewMasterKeyFile(t *testing.T) {
	tests := []struct {
		name     string
		file     func(dir string) string // the --new-master-key-file path
		wantCode int
		want     string // in stdout+stderr
		wantKeys int    // data keys afterwards
	}{
		{"mistyped folder", func(dir string) string { return filepath.Join(dir, "typo", "new.key") }, 1, "does not exist", 1},
		{"bad key file", func(dir string) string {
			p := filepath.Join(dir, "bad.key")
			_ = os.WriteFile(p, []byte("not a key\n"), 0o600)
			return p
		}, 1, "seal: key is not base64", 1},
		{"new key file", func(dir string) string { return filepath.Join(dir, "new.key") }, 0, "restart every frontdesk node now", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := newDataDir(t)
			other := t.TempDir()
			path := tt.file(other)
			code, out, errOut := runCLI("keys", "rotate", "--data-dir", dir, "--new-master-key-file", path)
			if code != tt.wantCode || !strings.Contains(out+errOut, tt.want) {
				t.Errorf("keys rotate --new-master-key-file %s = exit %d, %q %q; want exit %d mentioning %q", path, code, out, errOut, tt.wantCode, tt.want)
			}
			if n := dataKeys(t, dir); n != tt.wantKeys {
				t.Errorf("after keys rotate --new-master-key-file %s: %d data keys, want %d", path, n, tt.wantKeys)
			}
			if _, err := os.Stat(filepath.Join(other, "typo")); err == nil {
				t.Errorf("keys rotate created the folder %s", filepath.Join(other, "typo"))
			}
		})
	}
}

func TestEnsureDemoSiteOrigins(t *testing.T) {
	tests := []struct {
		name    string
		stored  []string // origins from an earlier start; nil: first start
		args    []string
		env     string // FRONTDESK_ALLOWED_ORIGINS
		want    []string
		wantLog bool
	}{
		{"first start", nil, []string{"--allowed-origins", "https://a.example"}, "", []string{"https://a.example"}, false},
		{"later start without the flag keeps the list", []string{"https://a.example"}, nil, "", []string{"https://a.example"}, false},
		{"later start with another list replaces it", []string{"https://a.example"}, []string{"--allowed-origins", "https://b.example,http://localhost:3000"}, "", []string{"https://b.example", "http://localhost:3000"}, true},
		{"the variable replaces it too", []string{"https://a.example"}, nil, "https://c.example", []string{"https://c.example"}, true},
		{"the flag wins over the variable", []string{"https://a.example"}, []string{"--allowed-origins", "https://b.example"}, "https://c.example", []string{"https://b.example"}, true},
		{"an explicit empty list clears it", []string{"https://a.example"}, []string{"--allowed-origins", ""}, "", nil, true},
		{"the same list changes nothing", []string{"https://a.example"}, []string{"--allowed-origins", "https://a.example"}, "", []string{"https://a.example"}, false},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			parse := func(args []string, env string) *serverConfig {
				fs := flag.NewFlagSet("serve", flag.ContinueOnError)
				cfg, finish := serverFlags(fs, func(k string) string {
					if k == envName("allowed-origins") {
						return env
					}
					return ""
				})
				if err := fs.Parse(append([]string{"--data-dir", dir}, args...)); err != nil {
					t.Fatal(err)
				}
				finish()
				return cfg
			}
			discard := slog.New(slog.NewTextHandler(io.Discard, nil))
			first := parse(nil, "")
			store, err := openStore(ctx, first)
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			if tt.stored != nil {
				if err := ensureDemoSite(ctx, store, parse([]string{"--allowed-origins", strings.Join(tt.stored, ",")}, ""), discard); err != nil {
					t.Fatal(err)
				}
			}
			var logs bytes.Buffer
			if err := ensureDemoSite(ctx, store, parse(tt.args, tt.env), slog.New(slog.NewTextHandler(&logs, nil))); err != nil {
				t.Fatalf("ensureDemoSite(%v, env %q) = %v", tt.args, tt.env, err)
			}
			site, err := store.SiteByKey(ctx, demoSiteKey)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(site.AllowedOrigins, tt.want) {
				t.Errorf("stored %v, start with %v (env %q): origins %v, want %v", tt.stored, tt.args, tt.env, site.AllowedOrigins, tt.want)
			}
			if logged := strings.Contains(logs.String(), "level=INFO") && strings.Contains(logs.String(), "old="); logged != tt.wantLog {
				t.Errorf("stored %v, start with %v (env %q): log %q, want an info line with old and new: %v", tt.stored, tt.args, tt.env, logs.String(), tt.wantLog)
			}
		})
	}
}

func TestConfigValidation(t *testing.T) {
	const key = "c2VjcmV0LWtleS1zZWNyZXQta2V5LXNlY3JldC1rZXk="
	tests := []struct {
		name     string
		env      map[string]string
		args     []string
		wantCode int
		want     string // in stdout (exit 0) or stderr
	}{
		{"durations as Go durations", nil, nil, 0, `"shutdown_timeout": "10s"`},
		{"bot duration too", nil, []string{"--llm-timeout", "1m30s"}, 0, `"llm_timeout": "1m30s"`},
		{"bad integer variable", map[string]string{"FRONTDESK_BOT_WORKERS": "abc"}, nil, 1, `FRONTDESK_BOT_WORKERS="abc": want an integer`},
		{"duration variable without unit", map[string]string{"FRONTDESK_SHUTDOWN_TIMEOUT": "10"}, nil, 1, `FRONTDESK_SHUTDOWN_TIMEOUT="10": want a duration`},
		{"bad bot variable", map[string]string{"FRONTDESK_BOT_CLARIFY_MARGIN": "lots"}, nil, 1, "FRONTDESK_BOT_CLARIFY_MARGIN"},
		{"a flag overrides a bad variable", map[string]string{"FRONTDESK_SHUTDOWN_TIMEOUT": "10"}, []string{"--shutdown-timeout", "5s"}, 0, `"shutdown_timeout": "5s"`},
		{"good variable", map[string]string{"FRONTDESK_BOT_WORKERS": "8"}, nil, 0, `"bot_workers": 8`},
		{"short master key", nil, []string{"--master-key", "abc"}, 1, "--master-key: seal: key is 2 bytes"},
		{"short session key", nil, []string{"--session-key", "abc"}, 1, "--session-key: seal: key is 2 bytes"},
		{"32-byte keys", nil, []string{"--master-key", key, "--session-key", key}, 0, `"session_key": "********"`},
		{"sessions per ip below -1", nil, []string{"--new-sessions-per-ip", "-5"}, 1, "--new-sessions-per-ip -5"},
		{"sessions per ip -1", nil, []string{"--new-sessions-per-ip", "-1"}, 0, `"new_sessions_per_ip": -1`},
		{"uploads per ip below -1", nil, []string{"--uploads-per-ip", "-2"}, 1, "--uploads-per-ip -2"},
		{"every problem listed", map[string]string{"FRONTDESK_BOT_WORKERS": "abc"}, []string{"--master-key", "abc", "--uploads-per-ip", "-2"}, 1, "FRONTDESK_BOT_WORKERS=\"abc\": want an integer\n--master-key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			code, out, errOut := runCLI(append([]string{"config"}, tt.args...)...)
			got := out
			if tt.wantCode != 0 {
				got = errOut
			}
			if code != tt.wantCode || !strings.Contains(got, tt.want) {
				t.Errorf("%v frontdesk config %v = exit %d, stdout %q, stderr %q; want exit %d with %q", tt.env, tt.args, code, out, errOut, tt.wantCode, tt.want)
			}
		})
	}
}

// TestCommandsNeedExistingData: a wrong --data-dir is refused by every
// command but serve, and nothing is created there.
func TestCommandsNeedExistingData(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"admin", "list-agents"}, "no Frontdesk data in"},
		{[]string{"admin", "create-agent", "--email", "a@b.example", "--name", "A"}, "no Frontdesk data in"},
		{[]string{"admin", "set-password", "--email", "a@b.example"}, "no Frontdesk data in"},
		{[]string{"admin", "create-token", "--email", "a@b.example"}, "no Frontdesk data in"},
		{[]string{"admin", "identity-key", "list"}, "no Frontdesk data in"},
		{[]string{"admin", "identity-key", "foo"}, `unknown identity-key command "foo"`},
		{[]string{"keys", "list"}, "no Frontdesk data in"},
		{[]string{"keys", "rotate"}, "no Frontdesk data in"},
		{[]string{"audit", "verify"}, "no Frontdesk data in"},
		{[]string{"audit", "verify", "--database-url", "postgres://fd@127.0.0.1:1/frontdesk"}, "no master key"},
		{[]string{"backup", "--to", "backup.db"}, "no Frontdesk data in"},
	}
	for _, tt := range tests {
		dir := filepath.Join(t.TempDir(), "mistyped")
		args := append(tt.args, "--data-dir", dir)
		code, _, errOut := runCLI(args...)
		if code == 0 || !strings.Contains(errOut, tt.want) {
			t.Errorf("frontdesk %v = exit %d, stderr %q; want a failure mentioning %q", args, code, errOut, tt.want)
		}
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("frontdesk %v created %s", args, dir)
		}
	}
}

func TestParseInterspersed(t *testing.T) {
	tests := []struct {
		args    []string
		wantPos []string
		wantK   int
	}{
		{[]string{"refund"}, []string{"refund"}, 5},
		{[]string{"--k", "1", "refund"}, []string{"refund"}, 1},
		{[]string{"refund", "--k", "1"}, []string{"refund"}, 1},
		{[]string{"where", "is", "-k=2", "my", "order"}, []string{"where", "is", "my", "order"}, 2},
		{[]string{"refund", "--", "--k", "1"}, []string{"refund", "--k", "1"}, 5},
	}
	for _, tt := range tests {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		k := fs.Int("k", 5, "")
		pos, err := parseInterspersed(fs, tt.args)
		if err != nil || !slices.Equal(pos, tt.wantPos) || *k != tt.wantK {
			t.Errorf("parseInterspersed(%q) = %q, k %d, %v; want %q, k %d", tt.args, pos, *k, err, tt.wantPos, tt.wantK)
		}
	}
}

func TestFlagsAfterText(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.model")
	tests := []struct {
		args     []string
		wantCode int
		want     string
	}{
		// --model after the text is the model, not a text to classify.
		{[]string{"intents", "predict", "hi", "--model", missing}, 1, "missing.model"},
		// --k 1 after the query limits the hits instead of being searched.
		{[]string{"kb", "search", "refund", "--k", "1", "--json"}, 0, `"hits"`},
	}
	for _, tt := range tests {
		code, out, errOut := runCLI(tt.args...)
		if code != tt.wantCode || !strings.Contains(out+errOut, tt.want) {
			t.Errorf("frontdesk %q = exit %d, %q %q; want exit %d mentioning %q", tt.args, code, out, errOut, tt.wantCode, tt.want)
			continue
		}
		if tt.args[0] == "kb" {
			var res struct{ Hits []json.RawMessage }
			if err := json.Unmarshal([]byte(out), &res); err != nil || len(res.Hits) != 1 {
				t.Errorf("frontdesk %q printed %d hits (%v), want 1", tt.args, len(res.Hits), err)
			}
		}
	}
}

func TestHelpAndStrayArguments(t *testing.T) {
	tests := []struct {
		args     []string
		wantCode int
		want     string // in stderr
	}{
		{[]string{"serve", "--help"}, 0, "-data-dir"},
		{[]string{"config", "-h"}, 0, "-data-dir"},
		{[]string{"admin", "create-agent", "-h"}, 0, "-capacity"},
		{[]string{"admin", "-h"}, 0, "identity-key"},
		{[]string{"admin", "--help"}, 0, "create-token"},
		{[]string{"admin", "help"}, 0, "list-agents"},
		{[]string{"admin", "identity-key", "-h"}, 0, "add|rotate|list|remove"},
		{[]string{"keys", "-h"}, 0, "rotate"},
		{[]string{"audit", "-h"}, 0, "verify"},
		{[]string{"kb", "-h"}, 0, "--skill"},
		{[]string{"kb", "search", "-h"}, 0, "-k"},
		{[]string{"version", "extra"}, 1, "unexpected arguments"},
		{[]string{"config", "extra"}, 1, "unexpected arguments"},
		{[]string{"serve", "extra"}, 1, "unexpected arguments"},
		{[]string{"admin", "list-agents", "extra"}, 1, "unexpected arguments"},
	}
	for _, tt := range tests {
		code, _, errOut := runCLI(tt.args...)
		if code != tt.wantCode || !strings.Contains(errOut, tt.want) || strings.Contains(errOut, "help requested") {
			t.Errorf("frontdesk %q = exit %d, stderr %q; want exit %d mentioning %q (and no \"help requested\")", tt.args, code, errOut, tt.wantCode, tt.want)
		}
	}
}

func TestEvalRefusesBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string { return writeFile(t, dir, name, text) }
	kb := write("kb.jsonl", `{"id":"ship","question":"How long does shipping take?","answer":"Two days."}
{"id":"refund","question":"How do I get a refund?","answer":"Send it back."}
`)
	queries := write("q.jsonl", `{"qid":"1","query":"shipping time","relevant":["ship"]}`+"\n")
	empty := write("empty.jsonl", "\n")
	intentsData := write("intents.jsonl", `{"text":"hi","intent":"greet"}`+"\n")
	tests := []struct {
		args []string
		want string // in the error; "" for success
	}{
		{[]string{"kb", "eval", "--kb", kb, "--queries", queries}, ""},
		{[]string{"kb", "eval", "--kb", kb, "--queries", kb}, `no "query" or no "relevant"`},
		{[]string{"kb", "eval", "--kb", kb, "--queries", empty}, "no queries"},
		{[]string{"intents", "eval", "--train", intentsData, "--holdout", "1.5"}, "--holdout must be between 0 and 1 (exclusive)"},
		{[]string{"intents", "eval", "--train", intentsData, "--holdout", "0"}, "--holdout must be between 0 and 1 (exclusive)"},
		{[]string{"intents", "eval", "--train", intentsData}, "nothing to report on"},
	}
	for _, tt := range tests {
		code, out, errOut := runCLI(tt.args...)
		if tt.want == "" {
			if code != 0 || !strings.Contains(out, `"n":1`) {
				t.Errorf("frontdesk %q = exit %d, %q %q; want a report on 1 query", tt.args, code, out, errOut)
			}
			continue
		}
		if code == 0 || !strings.Contains(errOut, tt.want) {
			t.Errorf("frontdesk %q = exit %d, stderr %q; want a failure mentioning %q", tt.args, code, errOut, tt.want)
		}
	}
}

func TestBackupMessages(t *testing.T) {
	dir := newDataDir(t)
	target := t.TempDir()
	tests := []struct {
		to       string
		wantCode int
		want     string
		notWant  string
	}{
		{filepath.Join(target, "missing", "b.db"), 1, "folder " + filepath.Join(target, "missing") + " does not exist", "unable to open"},
		{filepath.Join(target, "b.db"), 0, "separately from the backup; without it the backup cannot be read", "keep"},
	}
	for _, tt := range tests {
		code, out, errOut := runCLI("backup", "--data-dir", dir, "--to", tt.to)
		if code != tt.wantCode || !strings.Contains(out+errOut, tt.want) || strings.Contains(out+errOut, tt.notWant) {
			t.Errorf("frontdesk backup --to %s = exit %d, %q %q; want exit %d mentioning %q, not %q", tt.to, code, out, errOut, tt.wantCode, tt.want, tt.notWant)
		}
	}
}

func TestAdminArguments(t *testing.T) {
	dir := newDataDir(t)
	tests := []struct {
		args     []string
		wantCode int
		want     string
	}{
		{[]string{"set-password"}, 1, "--email is required"},
		{[]string{"create-token"}, 1, "--email is required"},
		{[]string{"create-agent", "--email", "a@acme.example"}, 1, "--email and --name are required"},
		{[]string{"create-agent", "--email", "agent@acme.example", "--name", "Agent", "--capacity", "0"}, 0, "created agent"},
		{[]string{"create-agent", "--email", "editor@acme.example", "--name", "Editor", "--role", "editor"}, 0, "created editor"},
	}
	for _, tt := range tests {
		args := append([]string{"admin"}, append(tt.args, "--data-dir", dir)...)
		code, out, errOut := runCLI(args...)
		if code != tt.wantCode || !strings.Contains(out+errOut, tt.want) {
			t.Errorf("frontdesk %q = exit %d, %q %q; want exit %d mentioning %q", args, code, out, errOut, tt.wantCode, tt.want)
		}
	}
	cfg, _, err := parseServerConfig("admin", []string{"--data-dir", dir}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	store, err := openExistingStore(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	for email, want := range map[string]int{"agent@acme.example": 3, "editor@acme.example": 0} {
		a, err := store.AgentByEmail(context.Background(), email)
		if err != nil || a.Capacity != want {
			t.Errorf("capacity of %s = %d (%v), want %d", email, a.Capacity, err, want)
		}
	}
}
