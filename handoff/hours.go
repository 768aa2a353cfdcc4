package handoff

import (
	"fmt"
	"strings"
	"time"

	"github.com/frontdesk/frontdesk/data"
)

var dayKeys = [...]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// ValidateHours checks a business-hours schedule.
func ValidateHours(bh *data.BusinessHours) error {
	if bh == nil {
		return nil
	}
	if _, err := time.LoadLocation(bh.TimeZone); err != nil || bh.TimeZone == "" {
		return fmt.Errorf("handoff: business hours: unknown time zone %q", bh.TimeZone)
	}
	for day, intervals := range bh.Days {
		known := false
		for _, k := range dayKeys {
			known = known || k == day
		}
		if !known {
			return fmt.Errorf("handoff: business hours: unknown day %q (want mon..sun)", day)
		}
		for _, iv := range intervals {
			if _, _, err := parseInterval(iv); err != nil {
				return fmt.Errorf("handoff: business hours %s: %w", day, err)
			}
		}
	}
	return nil
}

// parseInterval parses "09:00-18:00" into minutes after midnight; an end of
// 24:00 is allowed, and an end before the start is an error.
func parseInterval(s string) (int, int, error) {
	from, to, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return 0, 0, fmt.Errorf("interval %q: want HH:MM-HH:MM", s)
	}
	a, err := parseClock(from)
	if err != nil {
		return 0, 0, err
	}
	b, err := parseClock(to)
	if err != nil {
		return 0, 0, err
	}
	if b <= a {
		return 0, 0, fmt.Errorf("interval %q ends before it starts", s)
	}
	return a, b, nil
}

func parseClock(s string) (int, error) {
	var h, m int
	if _, err := fmt.Sscanf(strings.TrimSpace(s), "%d:%d", &h, &m); err != nil || h < 0 || h > 24 || m < 0 || m > 59 || (h == 24 && m != 0) {
		return 0, fmt.Errorf("time %q: want HH:MM", s)
	}
	return h*60 + m, nil
}

// IsOpen reports whether t falls in the schedule's opening hours, in the
// schedule's own time zone. A nil schedule is always open.
func IsOpen(bh *data.BusinessHours, t time.Time) bool {
	if bh == nil {
		return true
	}
	loc, err := time.LoadLocation(bh.TimeZone)
	if err != nil {
		return true // validated on save; an unknown zone never closes a group
	}
	local := t.In(loc)
	minute := local.Hour()*60 + local.Minute()
	for _, iv := range bh.Days[dayKeys[local.Weekday()]] {
		a, b, err := parseInterval(iv)
		if err == nil && minute >= a && minute < b {
			return true
		}
	}
	return false
}
