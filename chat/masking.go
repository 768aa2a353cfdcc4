package chat

import (
	"context"

	"github.com/frontdesk/frontdesk/data"
	"github.com/frontdesk/frontdesk/mask"
)

// MaskAgentView reports whether agents see the conversation's personal data
// masked (its site's privacy.mask_agent_view setting). When the site cannot
// be read it answers true: masking is the safe side.
func (s *Service) MaskAgentView(ctx context.Context, conversationID string) bool {
	conv, err := s.store.GetConversation(ctx, conversationID)
	if err != nil {
		return true
	}
	site, err := s.store.GetSite(ctx, conv.SiteID)
	if err != nil {
		return true
	}
	return site.Settings.Privacy.MaskAgentView
}

// maskPersonal masks a visitor's contact fields for the agent view.
func maskPersonal(p data.Personal) data.Personal {
	if p.Email != "" {
		p.Email = mask.Partial(p.Email)
	}
	if p.Phone != "" {
		p.Phone = mask.Partial(p.Phone)
	}
	return p
}
