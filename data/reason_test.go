package data_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/frontdesk/frontdesk/data"
)

func TestReason(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{fmt.Errorf("chat: upload: sqlstore: append: text is not UTF-8: %w", data.ErrInvalid), "text is not UTF-8"},
		{fmt.Errorf("handoff: update ticket: group %q: it does not exist: %w", "vip", data.ErrInvalid), `group "vip": it does not exist`},
		{fmt.Errorf("sqlstore: save file: the name must be UTF-8: %w", data.ErrInvalid), "the name must be UTF-8"},
		{fmt.Errorf("agent capacity 200 outside 0-100: %w", data.ErrInvalid), "agent capacity 200 outside 0-100"},
		{data.ErrInvalid, "invalid input"},
		{errors.New("plain"), "plain"},
	}
	for _, tt := range tests {
		if got := data.Reason(tt.err); got != tt.want {
			t.Errorf("Reason(%q) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
