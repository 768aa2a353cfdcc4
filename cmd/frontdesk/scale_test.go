package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestConfigScaleOutFlags(t *testing.T) {
	tests := []struct {
		args    []string
		want    []string
		notWant []string
		fail    bool
	}{
		{
			args:    []string{"--database-url", "postgres://fd:s3cret@db.internal:5432/frontdesk?sslmode=require", "--redis-url", "redis://:r3dis@cache:6379/0", "--session-key", "c2VjcmV0LWtleS1zZWNyZXQta2V5LXNlY3JldC1rZXk="},
			want:    []string{`"database_url": "postgres://fd:********@db.internal:5432/frontdesk?sslmode=require"`, `"redis_url": "redis://:********@cache:6379/0"`, `"session_key": "********"`},
			notWant: []string{"s3cret", "r3dis", "c2VjcmV0"},
		},
		{
			args: []string{"--database-url", "postgres://db.internal/frontdesk?password=hunter2"},
			want: []string{`password=********`}, notWant: []string{"hunter2"},
		},
		{args: []string{"--database-url", "mysql://db/x"}, fail: true},
		{args: []string{"--redis-url", "http://cache:6379", "--session-key", "c2VjcmV0LWtleS1zZWNyZXQta2V5LXNlY3JldC1rZXk="}, fail: true},
		{args: []string{"--redis-prefix", "acme-prod:"}, want: []string{`"redis_prefix": "acme-prod:"`}},
		{args: []string{"--redis-prefix", "acme*"}, fail: true},
		{args: []string{"--redis-prefix", ""}, fail: true},
		// Nodes sharing Redis must share the visitor-token key.
		{args: []string{"--database-url", "postgres://db.internal/frontdesk", "--redis-url", "redis://cache:6379/0"}, fail: true},
	}
	for _, tt := range tests {
		var out, errOut bytes.Buffer
		code := run(context.Background(), append([]string{"config"}, tt.args...), &out, &errOut)
		if tt.fail {
			if code == 0 {
				t.Errorf("config %v exited 0, want a validation error", tt.args)
			}
			continue
		}
		if code != 0 {
			t.Fatalf("config %v exited %d: %s", tt.args, code, errOut.String())
		}
		for _, w := range tt.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("config %v printed %s; want %s", tt.args, out.String(), w)
			}
		}
		for _, nw := range tt.notWant {
			if strings.Contains(out.String(), nw) {
				t.Errorf("config %v printed the secret %q: %s", tt.args, nw, out.String())
			}
		}
	}
}
