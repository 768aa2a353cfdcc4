package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/frontdesk/frontdesk/api/realtime"
	"github.com/frontdesk/frontdesk/data"
)

func pngBytes(t *testing.T, trailer string) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	img.Set(1, 1, color.RGBA{255, 0, 0, 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	b.WriteString(trailer)
	return b.Bytes()
}

func (h *harness) upload(token, name string, content []byte, clientID string) (int, map[string]any) {
	h.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("client_msg_id", clientID)
	fw, _ := mw.CreateFormFile("file", name)
	fw.Write(content)
	mw.Close()
	req, _ := http.NewRequest("POST", h.srv.URL+"/api/v1/visitor/uploads", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestUploads(t *testing.T) {
	h := newHarness(t, realtime.DefaultLimits())
	token := h.token()
	c := h.mustDial(token)
	tests := []struct {
		name     string
		file     string
		content  []byte
		wantCode int
		wantErr  string
	}{
		{"png", "receipt.png", pngBytes(t, ""), 201, ""},
		{"pdf", "invoice.pdf", []byte("%PDF-1.4\n%fake pdf\n"), 201, ""},
		{"text", "notes.txt", []byte("订单号 12345, please check"), 201, ""},
		{"html renamed to png", "evil.png", []byte("<html><script>alert(1)</script></html>"), 400, "invalid"},
		{"executable", "setup.exe", append([]byte("MZ\x90\x00"), bytes.Repeat([]byte{0}, 100)...), 400, "invalid"},
		{"svg", "logo.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>`), 400, "invalid"},
		{"svg after a byte-order mark", "logo.txt", []byte("\xef\xbb\xbf \n<svg onload=\"alert(1)\"></svg>"), 400, "invalid"},
		{"broken image", "x.png", []byte("\x89PNG\r\n\x1a\nnot really"), 400, "invalid"},
		{"too large", "big.txt", bytes.Repeat([]byte("a"), data.MaxFileBytes+1), 413, "too_large"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out := h.upload(token, tt.file, tt.content, "up-"+string(rune('a'+i)))
			if code != tt.wantCode || (tt.wantErr != "" && errCode(out) != tt.wantErr) {
				t.Errorf("upload %s = %d %v, want %d %s", tt.file, code, out, tt.wantCode, tt.wantErr)
			}
		})
	}
	if code, _ := h.upload("", "a.txt", []byte("hi"), "x"); code != 401 {
		t.Errorf("upload without a token = %d, want 401", code)
	}
	// The image arrives as a file message; it was re-encoded (the trailer is gone).
	code, out := h.upload(token, "with-trailer.png", pngBytes(t, "<script>hidden payload</script>"), "up-trailer")
	if code != 201 {
		t.Fatalf("upload = %d %v", code, out)
	}
	frames := c.until(func(f map[string]any) bool { return f["type"] == "message" && f["text"] == "with-trailer.png" })
	file := frames[len(frames)-1]["file"].(map[string]any)
	req, _ := http.NewRequest("GET", h.srv.URL+"/api/v1/visitor/files/"+file["id"].(string), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	got.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" || resp.Header.Get("X-Content-Type-Options") != "nosniff" ||
		!strings.HasPrefix(resp.Header.Get("Content-Disposition"), "inline") || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("download = %d %v", resp.StatusCode, resp.Header)
	}
	if bytes.Contains(got.Bytes(), []byte("hidden payload")) {
		t.Error("the stored image still carries data appended after the image")
	}
	if _, err := png.Decode(bytes.NewReader(got.Bytes())); err != nil {
		t.Errorf("downloaded image does not decode: %v", err)
	}
	// Non-images are downloads.
	for _, f := range frames {
		if f["text"] != "invoice.pdf" {
			continue
		}
		pdf := f["file"].(map[string]any)
		req, _ := http.NewRequest("GET", h.srv.URL+"/api/v1/visitor/files/"+pdf["id"].(string), nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if f["kind"] != "file" || resp.Header.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") {
			t.Errorf("pdf message %v downloaded with %v", f, resp.Header)
		}
	}
	// Another visitor cannot fetch it.
	other := h.token()
	req, _ = http.NewRequest("GET", h.srv.URL+"/api/v1/visitor/files/"+file["id"].(string), nil)
	req.Header.Set("Authorization", "Bearer "+other)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("another visitor downloading = %d, want 404", resp.StatusCode)
	}
}

// TestUploadRetryStoresOneFile: a retried upload (same client_msg_id) gets
// the stored message back and stores no second copy of the file, and a long
// name is shortened on a character boundary instead of being refused.
func TestUploadRetryStoresOneFile(t *testing.T) {
	h := newHarness(t, realtime.DefaultLimits())
	token := h.token()
	var seqs []any
	var convID string
	for range 3 {
		code, out := h.upload(token, "receipt.txt", []byte("order 12345"), "same")
		if code != 201 {
			t.Fatalf("upload = %d %v", code, out)
		}
		seqs = append(seqs, out["seq"])
		convID, _ = out["conversation_id"].(string)
	}
	if seqs[0] != seqs[1] || seqs[1] != seqs[2] {
		t.Errorf("seqs of a retried upload = %v, want one message", seqs)
	}
	long := strings.Repeat("a", 199) + "中文.txt"
	if code, out := h.upload(token, long, []byte("notes"), "long"); code != 201 {
		t.Errorf("upload with a %d-byte name = %d %v, want 201", len(long), code, out)
	}
	ctx := context.Background()
	conv, err := h.store.GetConversation(ctx, convID)
	if err != nil {
		t.Fatal(err)
	}
	exp, err := h.store.ExportVisitor(ctx, conv.VisitorID)
	if err != nil || len(exp.Conversations) != 1 {
		t.Fatalf("ExportVisitor = %+v, %v", exp, err)
	}
	files := exp.Conversations[0].Files
	if len(files) != 2 {
		t.Fatalf("stored files = %d, want 2 (one per new message)", len(files))
	}
	for _, f := range files {
		if !utf8.ValidString(f.Name) || len(f.Name) > 200 {
			t.Errorf("stored name %q (%d bytes), want valid UTF-8 of at most 200 bytes", f.Name, len(f.Name))
		}
	}
}

// TestUploadRateLimit: one client address may send 20 uploads a minute.
func TestUploadRateLimit(t *testing.T) {
	h := newHarness(t, realtime.DefaultLimits())
	token := h.token()
	for i := range 20 {
		if code, out := h.upload(token, "a.txt", []byte("hello"), fmt.Sprintf("u%d", i)); code != 201 {
			t.Fatalf("upload %d = %d %v, want 201", i+1, code, out)
		}
	}
	if code, out := h.upload(h.token(), "a.txt", []byte("hello"), "over"); code != http.StatusTooManyRequests || errCode(out) != "rate_limited" {
		t.Errorf("21st upload from the address = %d %v, want 429 rate_limited", code, out)
	}
}
