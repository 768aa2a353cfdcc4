package handoff

import (
	"testing"

	"github.com/frontdesk/frontdesk/data"
)

func TestValidateGroup(t *testing.T) {
	known := []data.SkillGroup{{ID: "default_support"}, {ID: "vip"}, {ID: "orders", Settings: data.GroupSettings{FallbackGroup: "vip"}},
		{ID: "night", Settings: data.GroupSettings{FallbackGroup: "orders"}}}
	tests := []struct {
		name string
		st   data.GroupSettings
		ok   bool
	}{
		{"empty", data.GroupSettings{}, true},
		{"full", data.GroupSettings{FallbackGroup: "default_support", OverflowAfterSeconds: 180, MaxWaitSeconds: 600, Routing: "manual",
			NotifyEmail: "vip@acme.example", BusinessHours: &data.BusinessHours{TimeZone: "Asia/Shanghai", Days: map[string][]string{"mon": {"09:00-18:00"}}}}, true},
		{"unknown fallback", data.GroupSettings{FallbackGroup: "nope"}, false},
		{"itself as fallback", data.GroupSettings{FallbackGroup: "vip"}, false},
		{"a cycle of two", data.GroupSettings{FallbackGroup: "orders"}, false},
		{"a cycle of three", data.GroupSettings{FallbackGroup: "night"}, false},
		{"negative wait", data.GroupSettings{MaxWaitSeconds: -5}, false},
		{"negative overflow", data.GroupSettings{OverflowAfterSeconds: -1, FallbackGroup: "default_support"}, false},
		{"routing", data.GroupSettings{Routing: "round-robin"}, false},
		{"notify address", data.GroupSettings{NotifyEmail: "not an address"}, false},
		{"notify with a name", data.GroupSettings{NotifyEmail: "VIP <vip@acme.example>"}, false},
		{"hours", data.GroupSettings{BusinessHours: &data.BusinessHours{TimeZone: "Nowhere/Land"}}, false},
	}
	for _, tt := range tests {
		err := ValidateGroup(data.SkillGroup{ID: "vip", Name: "VIP", Settings: tt.st}, known)
		if (err == nil) != tt.ok {
			t.Errorf("%s: ValidateGroup = %v, want ok %v", tt.name, err, tt.ok)
		}
	}
}
