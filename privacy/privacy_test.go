package privacy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/data"
	"github.com/frontdesk/frontdesk/data/seal"
	"github.com/frontdesk/frontdesk/data/sqlstore"
)

// TestPurgeOnceHonoursRetention: only sites with a retention period lose
// conversations, only those older than it, and the purge is audited.
func TestPurgeOnceHonoursRetention(t *testing.T) {
	ctx := context.Background()
	ring, _ := seal.NewKeyring(bytes.Repeat([]byte{4}, 32))
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "p.db"), ring, sqlstore.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	old := time.Now().Add(-40 * 24 * time.Hour)
	mk := func(key string, days int) (data.Conversation, data.Conversation) {
		site, err := st.EnsureSite(ctx, data.Site{Key: key, Name: key})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.UpdateSiteSettings(ctx, site.ID, data.SiteSettings{Privacy: data.PrivacySettings{RetentionDays: days}}); err != nil {
			t.Fatal(err)
		}
		var convs [2]data.Conversation
		for i, at := range []time.Time{old, time.Now()} {
			v := data.Visitor{ID: data.NewID("v_"), SiteID: site.ID, CreatedAt: at, Personal: data.Personal{Email: "x@example.com"}}
			if err := st.CreateVisitor(ctx, v); err != nil {
				t.Fatal(err)
			}
			if convs[i], err = st.CreateConversation(ctx, data.Conversation{SiteID: site.ID, VisitorID: v.ID, CreatedAt: at}); err != nil {
				t.Fatal(err)
			}
		}
		return convs[0], convs[1]
	}
	kept30Old, kept30New := mk("thirty", 30)
	keptOld, _ := mk("forever", 0)
	p := NewPurger(st, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Hour)
	n, err := p.PurgeOnce(ctx)
	if err != nil || n != 1 {
		t.Fatalf("PurgeOnce = %d, %v; want 1 conversation", n, err)
	}
	if _, err := st.GetConversation(ctx, kept30Old.ID); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("40-day-old conversation of a 30-day site: %v, want purged", err)
	}
	for _, c := range []data.Conversation{kept30New, keptOld} {
		if _, err := st.GetConversation(ctx, c.ID); err != nil {
			t.Errorf("conversation %s should stay: %v", c.ID, err)
		}
	}
	if _, err := st.GetVisitor(ctx, kept30Old.VisitorID); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("visitor with nothing left after the purge: %v, want purged", err)
	}
	entries, _ := st.ListAudit(ctx, 0, 10)
	if len(entries) != 1 || entries[0].Action != data.AuditPurge {
		t.Errorf("audit after purge = %+v, want one retention_purge entry", entries)
	}
}
