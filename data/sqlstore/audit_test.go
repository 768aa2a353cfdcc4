package sqlstore

import (
	"context"
	"errors"
	"testing"

	"github.com/frontdesk/frontdesk/data"
	"github.com/frontdesk/frontdesk/privacy"
)

// TestAuditChainDetectsTampering edits and deletes rows of the audit log
// behind the store's back; privacy.Verify names the broken row.
func TestAuditChainDetectsTampering(t *testing.T) {
	tests := []struct {
		name   string
		tamper string
	}{
		{"edited row", `UPDATE audit_log SET target = 'visitor:someone-else' WHERE seq = 2`},
		{"edited hash too", `UPDATE audit_log SET action = 'view_conversation', hash = 'abc' WHERE seq = 2`},
		{"deleted row", `DELETE FROM audit_log WHERE seq = 2`},
		{"deleted first row", `DELETE FROM audit_log WHERE seq = 1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s, _ := openTemp(t)
			defer s.Close()
			for _, a := range []string{data.AuditView, data.AuditExport, data.AuditErase} {
				if _, err := s.AppendAudit(ctx, data.AuditEntry{ActorKind: "admin", ActorID: "a1", Action: a, Target: "visitor:v1"}); err != nil {
					t.Fatal(err)
				}
			}
			if n, err := privacy.Verify(ctx, s); err != nil || n != 3 {
				t.Fatalf("Verify before tampering = %d, %v; want 3, nil", n, err)
			}
			if err := s.submit(ctx, func(ctx context.Context, tx *txn) error {
				_, err := tx.ExecContext(ctx, tt.tamper)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if _, err := privacy.Verify(ctx, s); !errors.Is(err, privacy.ErrChainBroken) {
				t.Errorf("Verify after %s = %v, want ErrChainBroken", tt.name, err)
			}
		})
	}
}
