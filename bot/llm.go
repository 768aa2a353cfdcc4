package bot

import "context"

// Generator writes answers from FAQ entries with an LLM.
type Generator struct{}

func (e *Engine) generate(ctx context.Context, st *State, in Input, d *Decision, res interface{}) {}
