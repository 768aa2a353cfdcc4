package intents

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// fakeEmbeddings serves POST /v1/embeddings like the OpenAI API, with a bag-of-words hash as the "embedding".
func fakeEmbeddings(t *testing.T, requests, texts *atomic.Int64) *httptest.Server {
	t.Helper()
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/embeddings" {
			http.Error(w, `{"error":{"message":"not found","type":"invalid_request_error"}}`, http.StatusNotFound)
			return
		}
		if r.Header.Get("Authorization") != "Bearer test-key" {
			http.Error(w, `{"error":{"message":"bad key","type":"invalid_request_error"}}`, http.StatusUnauthorized)
			return
		}
		var req struct {
			Input []string `json:"input"`
			Model string   `json:"model"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Model == "" {
			http.Error(w, `{"error":{"message":"bad request","type":"invalid_request_error"}}`, http.StatusBadRequest)
			return
		}
		requests.Add(1)
		texts.Add(int64(len(req.Input)))
		type item struct {
			Object    string    `json:"object"`
			Embedding []float32 `json:"embedding"`
			Index     int       `json:"index"`
		}
		resp := struct {
			Object string         `json:"object"`
			Data   []item         `json:"data"`
			Model  string         `json:"model"`
			Usage  map[string]int `json:"usage"`
		}{Object: "list", Model: req.Model, Usage: map[string]int{"prompt_tokens": 1, "total_tokens": 1}}
		for i, in := range req.Input {
			v := make([]float32, 16)
			for _, w := range strings.Fields(strings.ToLower(in)) {
				v[hashString(fnvOffset, w)%16]++
			}
			resp.Data = append(resp.Data, item{Object: "embedding", Embedding: v, Index: i})
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(resp)
	}))
}

func TestOpenAIEmbedder(t *testing.T) {
	var requests, texts atomic.Int64
	srv := fakeEmbeddings(t, &requests, &texts)
	defer srv.Close()
	ctx := context.Background()
	emb, err := NewOpenAIEmbedder(OpenAIConfig{BaseURL: srv.URL + "/v1", APIKey: "test-key", Model: "fake-embed", BatchSize: 50})
	if err != nil {
		t.Fatal(err)
	}
	d := readTestdata(t, "clinc_train.jsonl")
	m, err := Train(ctx, d, Options{Embedder: emb})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := texts.Load(), int64(d.Len()); got > want {
		t.Errorf("embedder sent %d texts for %d training examples, want each at most once (cached)", got, want)
	}
	if requests.Load() < 2 {
		t.Errorf("embedder made %d requests, want batches of 50", requests.Load())
	}
	p, err := m.PredictContext(ctx, "what is my bank balance")
	if err != nil || p.Intent != "balance" {
		t.Errorf("PredictContext = %+v, %v; want balance", p, err)
	}
	before := texts.Load()
	m.PredictContext(ctx, "what is my bank balance")
	if texts.Load() != before {
		t.Error("a repeated text was embedded again, want it served from the cache")
	}

	var buf bytes.Buffer
	if err := m.Save(&buf); err != nil {
		t.Fatal(err)
	}
	m2, err := Load(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m2.PredictContext(ctx, "balance"); err == nil {
		t.Error("PredictContext on a loaded embedding model without an embedder succeeded, want an error")
	}
	other, _ := NewOpenAIEmbedder(OpenAIConfig{BaseURL: srv.URL + "/v1", APIKey: "test-key", Model: "other"})
	if err := m2.SetEmbedder(other); err == nil {
		t.Error("SetEmbedder with a different model succeeded, want an error")
	}
	if err := m2.SetEmbedder(emb); err != nil {
		t.Fatal(err)
	}
	if p2, err := m2.PredictContext(ctx, "what is my bank balance"); err != nil || p2.Intent != p.Intent || p2.Confidence != p.Confidence {
		t.Errorf("loaded model PredictContext = %+v, %v; want %+v", p2, err, p)
	}
}

func TestOpenAIEmbedderErrors(t *testing.T) {
	var requests, texts atomic.Int64
	srv := fakeEmbeddings(t, &requests, &texts)
	defer srv.Close()
	emb, err := NewOpenAIEmbedder(OpenAIConfig{BaseURL: srv.URL + "/v1", APIKey: "wrong", Model: "fake-embed"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Train(context.Background(), readTestdata(t, "clinc_train.jsonl"), Options{Embedder: emb})
	if err == nil || !strings.HasPrefix(err.Error(), "intents: ") {
		t.Errorf("Train with a rejected API key: error %v, want an 'intents: ' error", err)
	}
	if _, err := NewOpenAIEmbedder(OpenAIConfig{}); err == nil {
		t.Error("NewOpenAIEmbedder without a model succeeded, want an error")
	}
}
