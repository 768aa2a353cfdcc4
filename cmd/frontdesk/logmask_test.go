package main

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestLogsAreMasked(t *testing.T) {
	tests := []struct {
		name   string
		log    func(l *slog.Logger)
		secret string
		keep   string
	}{
		{"message", func(l *slog.Logger) { l.Info("visitor wrote 13800138000") }, "13800138000", "visitor wrote"},
		{"string attr", func(l *slog.Logger) { l.Info("x", slog.String("text", "mail me at li@example.com")) }, "li@example.com", "mail me"},
		{"error attr", func(l *slog.Logger) { l.Error("x", slog.Any("err", errors.New("bad card 4111111111111111"))) }, "4111111111111111", "bad card"},
		{"group", func(l *slog.Logger) { l.Info("x", slog.Group("v", slog.String("phone", "+8613800138000"))) }, "13800138000", "v.phone"},
		{"with attrs", func(l *slog.Logger) { l.With(slog.String("id", "11010519491231002X")).Info("x") }, "11010519491231002X", "id="},
		{"order number kept", func(l *slog.Logger) { l.Info("x", slog.String("order", "order 202405180001")) }, "", "202405180001"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			tt.log(slog.New(newMaskingHandler(slog.NewTextHandler(&buf, nil))))
			out := buf.String()
			if tt.secret != "" && strings.Contains(out, tt.secret) {
				t.Errorf("log line %q contains %q", out, tt.secret)
			}
			if !strings.Contains(out, tt.keep) {
				t.Errorf("log line %q lost %q", out, tt.keep)
			}
		})
	}
}
