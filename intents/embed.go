package intents

import (
	"context"
	"fmt"
	"sync"

	openai "github.com/sashabaranov/go-openai"
)

// Embedder turns texts into sentence embeddings for the optional second stage.
type Embedder interface {
	// Name identifies the embedding model; a model trained with one embedder refuses another.
	Name() string
	// Embed returns one vector per text, in order.
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

// OpenAIConfig configures an embedder for any OpenAI-compatible embeddings endpoint.
type OpenAIConfig struct {
	BaseURL   string // e.g. https://api.openai.com/v1 or http://localhost:11434/v1
	APIKey    string
	Model     string // e.g. text-embedding-3-small
	BatchSize int    // texts per request; 0 means 64
}

// OpenAIEmbedder calls an OpenAI-compatible embeddings endpoint and caches the vectors in memory by text.
type OpenAIEmbedder struct {
	client *openai.Client
	model  string
	batch  int

	mu    sync.Mutex
	cache map[string][]float32
}

var _ Embedder = (*OpenAIEmbedder)(nil)

// NewOpenAIEmbedder returns an embedder that talks to the endpoint in cfg.
func NewOpenAIEmbedder(cfg OpenAIConfig) (*OpenAIEmbedder, error) {
	if cfg.Model == "" {
		return nil, fmt.Errorf("intents: openai embedder: no model")
	}
	c := openai.DefaultConfig(cfg.APIKey)
	if cfg.BaseURL != "" {
		c.BaseURL = cfg.BaseURL
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 64
	}
	return &OpenAIEmbedder{client: openai.NewClientWithConfig(c), model: cfg.Model, batch: cfg.BatchSize,
		cache: map[string][]float32{}}, nil
}

// Name returns the embedding model name.
func (e *OpenAIEmbedder) Name() string { return e.model }

// Embed returns the embeddings of texts, asking the endpoint only for texts not in the cache.
func (e *OpenAIEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	var missing []string
	seen := map[string]bool{}
	e.mu.Lock()
	for i, t := range texts {
		if v, ok := e.cache[t]; ok {
			out[i] = v
		} else if !seen[t] {
			seen[t] = true
			missing = append(missing, t)
		}
	}
	e.mu.Unlock()
	for start := 0; start < len(missing); start += e.batch {
		part := missing[start:min(start+e.batch, len(missing))]
		resp, err := e.client.CreateEmbeddings(ctx, openai.EmbeddingRequestStrings{
			Input: part, Model: openai.EmbeddingModel(e.model)})
		if err != nil {
			return nil, fmt.Errorf("intents: embeddings request: %w", err)
		}
		if len(resp.Data) != len(part) {
			return nil, fmt.Errorf("intents: embeddings: got %d vectors for %d texts", len(resp.Data), len(part))
		}
		e.mu.Lock()
		for j, d := range resp.Data {
			i := j
			if d.Index >= 0 && d.Index < len(part) {
				i = d.Index
			}
			e.cache[part[i]] = d.Embedding
		}
		e.mu.Unlock()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, t := range texts {
		if out[i] == nil {
			out[i] = e.cache[t]
			if out[i] == nil {
				return nil, fmt.Errorf("intents: embeddings: no vector for %q", t)
			}
		}
	}
	return out, nil
}
