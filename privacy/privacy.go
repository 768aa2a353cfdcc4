package privacy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/frontdesk/frontdesk/data"
)

// Store is what the privacy service needs from the store.
type Store interface {
	data.PrivacyStore
	SiteByKey(ctx context.Context, key string) (data.Site, error)
	GetVisitor(ctx context.Context, id string) (data.Visitor, error)
}

// Actor is who accesses personal data, as the audit log names them.
type Actor struct {
	Kind string // "agent", "admin", "cli", "system"
	ID   string
}

// Service exports and erases visitors' data and records every access.
type Service struct {
	store Store
	log   *slog.Logger
}

// New returns the privacy service.
func New(store Store, log *slog.Logger) *Service { return &Service{store: store, log: log} }

// Audit records an access to personal data. A failure is returned: callers
// refuse the access rather than leave it unrecorded.
func (s *Service) Audit(ctx context.Context, a Actor, action, siteID, target, detail string) error {
	if _, err := s.store.AppendAudit(ctx, data.AuditEntry{ActorKind: a.Kind, ActorID: a.ID, Action: action, SiteID: siteID, Target: target, Detail: detail}); err != nil {
		return fmt.Errorf("privacy: audit %s: %w", action, err)
	}
	return nil
}

// Export returns everything stored about a visitor, after recording the export.
func (s *Service) Export(ctx context.Context, a Actor, visitorID string) (data.VisitorExport, error) {
	v, err := s.store.GetVisitor(ctx, visitorID)
	if err != nil {
		return data.VisitorExport{}, fmt.Errorf("privacy: export: %w", err)
	}
	if err := s.Audit(ctx, a, data.AuditExport, v.SiteID, "visitor:"+v.ID, ""); err != nil {
		return data.VisitorExport{}, err
	}
	out, err := s.store.ExportVisitor(ctx, visitorID)
	if err != nil {
		return data.VisitorExport{}, fmt.Errorf("privacy: export: %w", err)
	}
	return out, nil
}

// Erase deletes a visitor and every copy of their data, after recording it.
func (s *Service) Erase(ctx context.Context, a Actor, visitorID string) error {
	v, err := s.store.GetVisitor(ctx, visitorID)
	if err != nil {
		return fmt.Errorf("privacy: erase: %w", err)
	}
	if err := s.Audit(ctx, a, data.AuditErase, v.SiteID, "visitor:"+v.ID, ""); err != nil {
		return err
	}
	if err := s.store.EraseVisitor(ctx, visitorID); err != nil {
		return fmt.Errorf("privacy: erase: %w", err)
	}
	return nil
}

// ErrNoMatch means nothing of the site is stored under the e-mail address.
var ErrNoMatch = fmt.Errorf("privacy: nothing of this site is stored under this e-mail address: %w", data.ErrNotFound)

// Erasure says what an erasure by e-mail deleted.
type Erasure struct {
	// Visitors are the visitors erased with all their data.
	Visitors []string `json:"erased_visitors"`
	// Tickets are the tickets whose contact had the address (erased with
	// their visitor, or alone when they belong to none).
	Tickets []string `json:"erased_tickets"`
}

// EraseByEmail erases everything a site stores under an e-mail address:
// every visitor whose personal fields have it (verified or not), every
// ticket whose contact has it, and the visitor each such ticket belongs to
// (the address was given as theirs). Finding them opens every visitor's
// personal fields and every ticket's contact of the site (a scan), so the
// search is audited too. Nothing found is ErrNoMatch.
func (s *Service) EraseByEmail(ctx context.Context, a Actor, siteKey, email string) (Erasure, error) {
	out := Erasure{Visitors: []string{}, Tickets: []string{}}
	site, err := s.store.SiteByKey(ctx, siteKey)
	if err != nil {
		return out, fmt.Errorf("privacy: erase by email: %w", err)
	}
	if err := s.Audit(ctx, a, data.AuditEraseSearch, site.ID, "site:"+site.Key, ""); err != nil {
		return out, err
	}
	m, err := s.store.FindByEmail(ctx, site.ID, email)
	if err != nil {
		return out, fmt.Errorf("privacy: erase by email: %w", err)
	}
	if len(m.VisitorIDs) == 0 && len(m.Tickets) == 0 {
		return out, ErrNoMatch
	}
	visitors := append([]string(nil), m.VisitorIDs...)
	for _, t := range m.Tickets {
		if t.VisitorID != "" && !slices.Contains(visitors, t.VisitorID) {
			visitors = append(visitors, t.VisitorID)
		}
	}
	for _, id := range visitors {
		switch err := s.Erase(ctx, a, id); {
		case errors.Is(err, data.ErrNotFound): // erased meanwhile
		case err != nil:
			return out, err
		default:
			out.Visitors = append(out.Visitors, id)
		}
	}
	for _, t := range m.Tickets {
		if t.VisitorID == "" {
			if err := s.Audit(ctx, a, data.AuditErase, site.ID, "ticket:"+t.ID, ""); err != nil {
				return out, err
			}
			if err := s.store.EraseTicket(ctx, t.ID); err != nil && !errors.Is(err, data.ErrNotFound) {
				return out, fmt.Errorf("privacy: erase by email: %w", err)
			}
		}
		out.Tickets = append(out.Tickets, t.ID)
	}
	return out, nil
}

// ErrChainBroken means the audit log was edited or rows were deleted.
var ErrChainBroken = errors.New("privacy: audit chain broken")

// Verify walks the whole audit log and checks every row's hash and its link
// to the previous row; it returns the number of rows checked, or
// ErrChainBroken naming the first bad row.
func Verify(ctx context.Context, store data.PrivacyStore) (int, error) {
	prev, prevSeq, n := "", int64(0), 0
	for {
		batch, err := store.ListAudit(ctx, prevSeq, 1000)
		if err != nil {
			return n, fmt.Errorf("privacy: verify: %w", err)
		}
		for _, e := range batch {
			switch {
			case e.Seq != prevSeq+1:
				return n, fmt.Errorf("%w: rows %d to %d are missing", ErrChainBroken, prevSeq+1, e.Seq-1)
			case e.PrevHash != prev:
				return n, fmt.Errorf("%w: row %d does not follow row %d (a row was deleted or replaced)", ErrChainBroken, e.Seq, prevSeq)
			case e.ComputeHash() != e.Hash:
				return n, fmt.Errorf("%w: row %d was edited (its hash does not match its content)", ErrChainBroken, e.Seq)
			}
			prev, prevSeq = e.Hash, e.Seq
			n++
		}
		if len(batch) < 1000 {
			return n, nil
		}
	}
}

// Purger deletes conversations older than each site's retention period.
type Purger struct {
	store    Store
	log      *slog.Logger
	interval time.Duration
	now      func() time.Time
}

// NewPurger returns a purger that looks for due work every interval (default 1 hour).
func NewPurger(store Store, log *slog.Logger, interval time.Duration) *Purger {
	if interval <= 0 {
		interval = time.Hour
	}
	return &Purger{store: store, log: log, interval: interval, now: time.Now}
}

// Run purges once at start and then every interval until ctx ends.
func (p *Purger) Run(ctx context.Context) error {
	t := time.NewTicker(p.interval)
	defer t.Stop()
	for {
		if _, err := p.PurgeOnce(ctx); err != nil && ctx.Err() == nil {
			p.log.Error("retention purge", slog.Any("err", err))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// PurgeOnce purges every site with a retention period and returns how many
// conversations went; each site's purge is recorded in the audit log.
func (p *Purger) PurgeOnce(ctx context.Context) (int, error) {
	sites, err := p.store.ListSites(ctx)
	if err != nil {
		return 0, fmt.Errorf("privacy: purge: %w", err)
	}
	total := 0
	for _, site := range sites {
		days := site.Settings.Privacy.RetentionDays
		if days <= 0 {
			continue
		}
		before := p.now().Add(-time.Duration(days) * 24 * time.Hour)
		siteTotal := 0
		for {
			n, err := p.store.PurgeBefore(ctx, site.ID, before, 200)
			if err != nil {
				return total, fmt.Errorf("privacy: purge %s: %w", site.Key, err)
			}
			siteTotal += n
			if n < 200 {
				break
			}
		}
		total += siteTotal
		if siteTotal > 0 {
			p.log.Info("retention purge", slog.String("site", site.Key), slog.Int("conversations", siteTotal), slog.Int("retention_days", days))
			if _, err := p.store.AppendAudit(ctx, data.AuditEntry{ActorKind: "system", ActorID: "retention", Action: data.AuditPurge, SiteID: site.ID,
				Detail: fmt.Sprintf("%d conversations older than %d days", siteTotal, days)}); err != nil {
				return total, fmt.Errorf("privacy: purge audit: %w", err)
			}
		}
	}
	return total, nil
}
