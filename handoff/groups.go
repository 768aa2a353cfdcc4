package handoff

import (
	"fmt"
	"net/mail"
	"slices"

	"github.com/frontdesk/frontdesk/data"
)

// ValidateGroup checks a skill group before it is stored: its settings'
// business hours, routing mode, timers, fallback group (one of known, not
// the group itself) and notification address.
func ValidateGroup(g data.SkillGroup, known []data.SkillGroup) error {
	st := g.Settings
	if err := ValidateHours(st.BusinessHours); err != nil {
		return err
	}
	switch {
	case st.Routing != "" && st.Routing != "auto" && st.Routing != "manual":
		return fmt.Errorf(`handoff: group %s: settings.routing must be "auto" or "manual"`, g.ID)
	case st.MaxWaitSeconds < 0 || st.OverflowAfterSeconds < 0:
		return fmt.Errorf("handoff: group %s: max_wait_seconds and overflow_after_seconds must not be negative", g.ID)
	case st.FallbackGroup == g.ID && g.ID != "":
		return fmt.Errorf("handoff: group %s: the fallback group must be another group", g.ID)
	case st.FallbackGroup != "" && !slices.ContainsFunc(known, func(k data.SkillGroup) bool { return k.ID == st.FallbackGroup }):
		return fmt.Errorf("handoff: group %s: fallback group %q does not exist", g.ID, st.FallbackGroup)
	}
	// Following the fallbacks from g must end: a cycle would move waiting
	// conversations around it for ever.
	next := map[string]string{}
	for _, k := range known {
		next[k.ID] = k.Settings.FallbackGroup
	}
	next[g.ID] = st.FallbackGroup
	for at, steps := st.FallbackGroup, 0; at != ""; at, steps = next[at], steps+1 {
		if at == g.ID || steps > len(next) {
			return fmt.Errorf("handoff: group %s: fallback group %q leads back to %s", g.ID, st.FallbackGroup, g.ID)
		}
	}
	if st.NotifyEmail != "" {
		if a, err := mail.ParseAddress(st.NotifyEmail); err != nil || a.Address != st.NotifyEmail {
			return fmt.Errorf("handoff: group %s: notify_email %q is not an e-mail address", g.ID, st.NotifyEmail)
		}
	}
	return nil
}
