package main

import (
	"context"
	"log/slog"

	"github.com/frontdesk/frontdesk/mask"
)

// maskingHandler redacts personal data (phones, resident ids, card numbers,
// e-mails: package mask) from every log message and string or error
// attribute before the next handler sees it, so a visitor's text that ends
// up in an error never reaches the logs in clear.
type maskingHandler struct{ next slog.Handler }

func newMaskingHandler(next slog.Handler) slog.Handler { return maskingHandler{next: next} }

func (h maskingHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h maskingHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, mask.Redact(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(maskAttr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h maskingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	masked := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		masked[i] = maskAttr(a)
	}
	return maskingHandler{next: h.next.WithAttrs(masked)}
}

func (h maskingHandler) WithGroup(name string) slog.Handler {
	return maskingHandler{next: h.next.WithGroup(name)}
}

func maskAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, mask.Redact(v.String()))
	case slog.KindGroup:
		group := v.Group()
		masked := make([]any, len(group))
		for i, g := range group {
			masked[i] = maskAttr(g)
		}
		return slog.Group(a.Key, masked...)
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, mask.Redact(err.Error()))
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
