package bot

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"github.com/frontdesk/frontdesk/intents"
	"github.com/frontdesk/frontdesk/knowledge"
)

var (
	starterOnce sync.Once
	starterKB   *knowledge.Index
	starterNLU  *intents.Model
	starterErr  error
)

// starterEnv returns the starter knowledge base and intent model, built once per test binary.
func starterEnv(t testing.TB) StoryEnv {
	t.Helper()
	starterOnce.Do(func() {
		ctx := context.Background()
		starterKB, starterErr = knowledge.Open(ctx, knowledge.Config{})
		if starterErr == nil {
			starterNLU, starterErr = intents.Starter(ctx)
		}
	})
	if starterErr != nil {
		t.Fatal(starterErr)
	}
	cfg, err := StarterConfig()
	if err != nil {
		t.Fatal(err)
	}
	flows, err := StarterFlows()
	if err != nil {
		t.Fatal(err)
	}
	return StoryEnv{KB: starterKB, Intents: starterNLU, Config: cfg, Flows: flows}
}

func TestStarterStories(t *testing.T) {
	stories, err := StarterStories()
	if err != nil {
		t.Fatal(err)
	}
	if len(stories) < 10 {
		t.Fatalf("StarterStories() = %d stories, want at least 10", len(stories))
	}
	results := RunStories(context.Background(), starterEnv(t), stories)
	var out bytes.Buffer
	_, failed := WriteReport(&out, results, false)
	if failed > 0 {
		t.Errorf("starter stories failed:\n%s", out.String())
	}
}
