package data

import (
	"slices"
	"testing"
)

func TestAgentCanView(t *testing.T) {
	inOrders := Conversation{ID: "c1", SkillGroup: "order_support"}
	mine := Conversation{ID: "c2", SkillGroup: "tech_support", AssignedAgent: "a1"}
	tests := []struct {
		name       string
		agent      Agent
		conv       Conversation
		want       bool
		wantQueues []string
	}{
		{"admin sees any", Agent{ID: "boss", Role: RoleAdmin}, inOrders, true, nil},
		{"agent sees their group", Agent{ID: "a1", Role: RoleAgent, Groups: []string{"order_support"}}, inOrders, true, []string{"order_support"}},
		{"agent sees their own", Agent{ID: "a1", Role: RoleAgent, Groups: []string{"order_support"}}, mine, true, []string{"order_support"}},
		{"agent of another group", Agent{ID: "a2", Role: RoleAgent, Groups: []string{"tech_support"}}, inOrders, false, []string{"tech_support"}},
		{"editor in the group", Agent{ID: "e1", Role: RoleEditor, Groups: []string{"order_support"}}, inOrders, false, nil},
		{"editor once assigned", Agent{ID: "a1", Role: RoleEditor, Groups: []string{"tech_support"}}, mine, false, nil},
		{"disabled agent", Agent{ID: "a1", Role: RoleAgent, Groups: []string{"order_support"}, Disabled: true}, inOrders, false, nil},
		{"disabled admin", Agent{ID: "boss", Role: RoleAdmin, Disabled: true}, inOrders, false, nil},
	}
	for _, tt := range tests {
		if got := tt.agent.CanView(tt.conv); got != tt.want {
			t.Errorf("%s: %+v.CanView(%+v) = %v, want %v", tt.name, tt.agent, tt.conv, got, tt.want)
		}
		if got := tt.agent.QueueGroups(); !slices.Equal(got, tt.wantQueues) {
			t.Errorf("%s: %+v.QueueGroups() = %v, want %v", tt.name, tt.agent, got, tt.wantQueues)
		}
	}
}
