package datatest

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/data"
)

// SharedOpener returns two stores on one fresh database, as two nodes open
// it; the suite closes both.
type SharedOpener func(t *testing.T) (a, b data.Store)

// RunShared runs the conformance tests of several nodes writing one
// database through separate Store values.
func RunShared(t *testing.T, open SharedOpener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, a, b data.Store)
	}{
		{"AppendAcrossNodesGapless", testSharedAppend},
		{"RetryAcrossNodesOnce", testSharedIdempotent},
		{"AcceptAcrossNodesOneWinner", testSharedAccept},
		{"CapacityAcrossNodes", testSharedCapacity},
		{"OutboxClaimsDisjoint", testSharedOutbox},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := open(t)
			t.Cleanup(func() { _ = a.Close(); _ = b.Close() })
			tt.fn(t, a, b)
		})
	}
}

// both runs fn concurrently n times on each store.
func both(a, b data.Store, n int, fn func(s data.Store, node, i int)) {
	var wg sync.WaitGroup
	for node, s := range []data.Store{a, b} {
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(s data.Store, node, i int) {
				defer wg.Done()
				fn(s, node, i)
			}(s, node, i)
		}
	}
	wg.Wait()
}

// testSharedAppend: writers on two nodes append to one conversation; the
// seqs are 1..N with no gap and no repeat, and each node reads them all.
func testSharedAppend(t *testing.T, a, b data.Store) {
	c := ctx(t)
	_, _, conv := fixture(t, a)
	const writers, each = 4, 20
	var mu sync.Mutex
	seqs := map[int64]string{}
	both(a, b, writers, func(s data.Store, node, w int) {
		for i := 0; i < each; i++ {
			body := fmt.Sprintf("n%d-w%d-%d", node, w, i)
			m, _, err := s.AppendMessage(c, text(conv.ID, data.SenderVisitor, body, body))
			if err != nil {
				t.Errorf("node %d AppendMessage: %v", node, err)
				return
			}
			mu.Lock()
			if prev, dup := seqs[m.Seq]; dup {
				t.Errorf("seq %d given to %q and %q", m.Seq, prev, body)
			}
			seqs[m.Seq] = body
			mu.Unlock()
		}
	})
	const total = 2 * writers * each
	for node, s := range []data.Store{a, b} {
		msgs, err := s.ListMessages(c, conv.ID, 0, 0)
		if err != nil {
			t.Fatalf("node %d ListMessages: %v", node, err)
		}
		if len(msgs) != total {
			t.Fatalf("node %d reads %d messages, want %d", node, len(msgs), total)
		}
		for i, m := range msgs {
			if m.Seq != int64(i+1) || m.Text != seqs[m.Seq] {
				t.Fatalf("node %d message %d = seq %d %q; want seq %d %q", node, i, m.Seq, m.Text, i+1, seqs[int64(i+1)])
			}
		}
	}
	if got, _ := b.GetConversation(c, conv.ID); got.LastSeq != total {
		t.Errorf("last_seq = %d, want %d", got.LastSeq, total)
	}
}

// testSharedIdempotent: a visitor's retry of one client_msg_id reaching both
// nodes at once is stored once; every caller gets the same seq.
func testSharedIdempotent(t *testing.T, a, b data.Store) {
	c := ctx(t)
	_, _, conv := fixture(t, a)
	for round := 0; round < 10; round++ {
		id := fmt.Sprintf("retry-%d", round)
		var seqs sync.Map
		var originals atomic.Int32
		both(a, b, 3, func(s data.Store, node, i int) {
			m, dup, err := s.AppendMessage(c, text(conv.ID, data.SenderVisitor, "hi", id))
			if err != nil {
				t.Errorf("node %d append %s: %v", node, id, err)
				return
			}
			if !dup {
				originals.Add(1)
			}
			seqs.Store(m.Seq, true)
		})
		n := 0
		seqs.Range(func(any, any) bool { n++; return true })
		if originals.Load() != 1 || n != 1 {
			t.Fatalf("round %d: %d originals and %d distinct seqs; want 1 and 1", round, originals.Load(), n)
		}
	}
	msgs, _ := b.ListMessages(c, conv.ID, 0, 0)
	if len(msgs) != 10 {
		t.Errorf("stored %d messages, want 10", len(msgs))
	}
}

// testSharedAccept: agents on two nodes accept the same queued conversations
// at once; each conversation gets exactly one agent.
func testSharedAccept(t *testing.T, a, b data.Store) {
	c := ctx(t)
	var agents []data.Agent
	for i := 0; i < 6; i++ {
		agents = append(agents, mkAgent(t, a, fmt.Sprintf("n%d@example.com", i), 50))
	}
	for round := 0; round < 10; round++ {
		_, _, conv := fixture(t, a)
		queue(t, b, conv.ID, "g", 0)
		var wins, conflicts atomic.Int32
		winner := make(chan string, len(agents))
		both(a, b, len(agents)/2, func(s data.Store, node, i int) {
			ag := agents[node*len(agents)/2+i]
			_, _, err := s.Transition(c, data.Transition{ConversationID: conv.ID, From: data.StatusQueued, To: data.StatusAssigned,
				AssignedAgent: ag.ID, Capacity: ag.Capacity, Note: "accepted"})
			switch {
			case err == nil:
				wins.Add(1)
				winner <- ag.ID
			case errors.Is(err, data.ErrConflict):
				conflicts.Add(1)
			default:
				t.Errorf("node %d accept: %v", node, err)
			}
		})
		if wins.Load() != 1 || conflicts.Load() != int32(len(agents)-1) {
			t.Fatalf("round %d: %d winners, %d conflicts; want 1 and %d", round, wins.Load(), conflicts.Load(), len(agents)-1)
		}
		got, err := a.GetConversation(c, conv.ID)
		if w := <-winner; err != nil || got.AssignedAgent != w || got.Status != data.StatusAssigned {
			t.Fatalf("round %d: conversation = %+v, %v; want assigned to the winner %s", round, got, err, w)
		}
		if msgs, _ := b.ListMessages(c, conv.ID, 0, 0); len(msgs) != 2 {
			t.Fatalf("round %d: transcript has %d messages, want 2 (queued, assigned)", round, len(msgs))
		}
	}
}

// testSharedCapacity: two nodes assign different conversations to one agent
// with one free seat at the same moment; only one assignment succeeds.
func testSharedCapacity(t *testing.T, a, b data.Store) {
	c := ctx(t)
	for round := 0; round < 10; round++ {
		ag := mkAgent(t, a, fmt.Sprintf("cap%d@example.com", round), 1)
		var convs [2]string
		for i := range convs {
			_, _, conv := fixture(t, a)
			queue(t, a, conv.ID, "g", 0)
			convs[i] = conv.ID
		}
		var wins, conflicts atomic.Int32
		both(a, b, 1, func(s data.Store, node, _ int) {
			_, _, err := s.Transition(c, data.Transition{ConversationID: convs[node], From: data.StatusQueued, To: data.StatusAssigned,
				AssignedAgent: ag.ID, Capacity: 1, Note: "assigned"})
			switch {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, data.ErrConflict):
				conflicts.Add(1)
			default:
				t.Errorf("node %d assign: %v", node, err)
			}
		})
		if wins.Load() != 1 || conflicts.Load() != 1 {
			t.Fatalf("round %d: %d assignments, %d refusals for an agent with capacity 1; want 1 and 1", round, wins.Load(), conflicts.Load())
		}
		if loads, _ := b.AgentLoads(c); loads[ag.ID] != 1 {
			t.Fatalf("round %d: agent load = %d, want 1", round, loads[ag.ID])
		}
	}
}

// testSharedOutbox: workers on two nodes claim due items at once; every
// item is claimed exactly once.
func testSharedOutbox(t *testing.T, a, b data.Store) {
	c := ctx(t)
	t0 := time.Now().UTC().Truncate(time.Millisecond)
	const items = 60
	var batch []data.OutboxItem
	for i := 0; i < items; i++ {
		batch = append(batch, data.OutboxItem{ID: fmt.Sprintf("o%02d", i), Kind: "email", Payload: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i)), NextAttemptAt: t0})
	}
	if err := a.EnqueueOutbox(c, batch...); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	claimed := map[string]int{}
	both(a, b, 3, func(s data.Store, node, _ int) {
		for {
			got, err := s.ClaimOutbox(c, t0.Add(time.Second), time.Minute, 4)
			if err != nil {
				t.Errorf("node %d ClaimOutbox: %v", node, err)
				return
			}
			if len(got) == 0 {
				return
			}
			mu.Lock()
			for _, it := range got {
				claimed[it.ID]++
			}
			mu.Unlock()
		}
	})
	var twice []string
	for id, n := range claimed {
		if n != 1 {
			twice = append(twice, id)
		}
	}
	sort.Strings(twice)
	if len(claimed) != items || len(twice) != 0 {
		t.Errorf("claimed %d distinct items of %d; claimed more than once: %v", len(claimed), items, twice)
	}
}
