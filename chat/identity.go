package chat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/frontdesk/frontdesk/data"
	"github.com/frontdesk/frontdesk/identity"
)

// IdentifiedSession starts a session for the customer a site-signed
// identity token names. The visitor who already holds that verified
// identity (on any device) is returned, so the customer continues their
// history; otherwise the browser's visitor (visitorID) takes the identity,
// unless it holds another customer's identity, in which case a new visitor
// is made. Without a valid token nobody gets an identified visitor.
func (s *Service) IdentifiedSession(ctx context.Context, siteKey, visitorID, token string) (data.Site, data.Visitor, error) {
	site, err := s.store.SiteByKey(ctx, siteKey)
	if err != nil {
		return data.Site{}, data.Visitor{}, fmt.Errorf("chat: identified session: site %q: %w", siteKey, err)
	}
	claims, err := s.verifier.Verify(site, token)
	if err != nil {
		return data.Site{}, data.Visitor{}, fmt.Errorf("chat: identified session: %w", err)
	}
	p := data.Personal{Verified: true, ExternalID: claims.Subject, Name: claims.Name, Email: claims.Email}
	owner, err := s.store.VisitorByExternalID(ctx, site.ID, claims.Subject)
	switch {
	case err == nil:
		return site, s.takeIdentity(ctx, owner, p), nil
	case !errors.Is(err, data.ErrNotFound):
		return data.Site{}, data.Visitor{}, fmt.Errorf("chat: identified session: %w", err)
	}
	if visitorID != "" {
		v, err := s.store.GetVisitor(ctx, visitorID)
		if err == nil && v.SiteID == site.ID && (!v.Personal.Verified || v.Personal.ExternalID == claims.Subject) {
			return site, s.takeIdentity(ctx, v, p), nil
		}
		if err != nil && !errors.Is(err, data.ErrNotFound) {
			return data.Site{}, data.Visitor{}, fmt.Errorf("chat: identified session: %w", err)
		}
	}
	v := data.Visitor{ID: data.NewID("v_"), SiteID: site.ID, CreatedAt: time.Now().UTC().Truncate(time.Millisecond), Personal: p}
	if err := s.store.CreateVisitor(ctx, v); err != nil {
		return data.Site{}, data.Visitor{}, fmt.Errorf("chat: identified session: %w", err)
	}
	return site, v, nil
}

// takeIdentity records a verified identity on v; a failure to record is
// logged and the session goes on (the token was valid).
func (s *Service) takeIdentity(ctx context.Context, v data.Visitor, p data.Personal) data.Visitor {
	if v.Personal != p {
		if err := s.store.UpdateVisitorPersonal(ctx, v.ID, p); err != nil {
			s.log.Error("record verified identity", slog.String("visitor", v.ID), slog.Any("err", err))
			return v
		}
		v.Personal = p
	}
	if err := s.store.TouchVisitor(ctx, v.ID, time.Now().UTC()); err != nil {
		s.log.Warn("touch visitor", slog.String("visitor", v.ID), slog.Any("err", err))
	}
	return v
}

// Identify records who the visitor is. With a token (a site-signed JWT) the
// identity is verified: the token's sub, name and e-mail replace whatever
// the frame says. Without one the identity is kept as unverified (agents see
// it flagged, it never raises priority), and it is refused when the site
// requires verification or the visitor already has a verified identity.
func (s *Service) Identify(ctx context.Context, v data.Visitor, p data.Personal, token string) (data.Visitor, error) {
	site, err := s.store.GetSite(ctx, v.SiteID)
	if err != nil {
		return data.Visitor{}, fmt.Errorf("chat: identify: %w", err)
	}
	if token != "" {
		claims, err := s.verifier.Verify(site, token)
		if err != nil {
			return data.Visitor{}, fmt.Errorf("chat: identify: %w", err)
		}
		if v.Personal.Verified && v.Personal.ExternalID != claims.Subject {
			return data.Visitor{}, fmt.Errorf("chat: identify: %w", identity.ErrElsewhere)
		}
		owner, err := s.store.VisitorByExternalID(ctx, site.ID, claims.Subject)
		if err == nil && owner.ID != v.ID {
			return data.Visitor{}, fmt.Errorf("chat: identify: %w", identity.ErrElsewhere)
		}
		if err != nil && !errors.Is(err, data.ErrNotFound) {
			return data.Visitor{}, fmt.Errorf("chat: identify: %w", err)
		}
		p = data.Personal{Verified: true, ExternalID: claims.Subject, Name: claims.Name, Email: claims.Email, Phone: p.Phone}
	} else {
		if site.Settings.Identity.Required {
			return data.Visitor{}, fmt.Errorf("chat: identify: %w", identity.ErrRequired)
		}
		if v.Personal.Verified {
			return data.Visitor{}, fmt.Errorf("chat: identify: %w", identity.ErrAlreadyVerified)
		}
		p.Verified = false
	}
	if err := s.store.UpdateVisitorPersonal(ctx, v.ID, p); err != nil {
		return data.Visitor{}, fmt.Errorf("chat: identify: %w", err)
	}
	v.Personal = p
	return v, nil
}
