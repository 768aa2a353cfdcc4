package web

import (
	"bytes"
	"compress/gzip"
	"testing"
)

// TestAssetSizeBudget keeps the widget small: every visitor of every
// customer's site downloads it.
func TestAssetSizeBudget(t *testing.T) {
	tests := []struct {
		name        string
		maxGzipped  int
		mustContain string
	}{
		{"widget.js", 40 << 10, "window.Frontdesk"},
		{"console/console.js", 60 << 10, "/api/v1/agent/ws"},
		{"index.html", 8 << 10, `data-site-key="demo"`},
	}
	for _, tt := range tests {
		b, err := File(tt.name)
		if err != nil {
			t.Fatalf("File(%s): %v", tt.name, err)
		}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		zw.Write(b)
		zw.Close()
		t.Logf("%s: %d bytes, %d gzipped", tt.name, len(b), buf.Len())
		if buf.Len() > tt.maxGzipped {
			t.Errorf("%s is %d bytes gzipped, budget %d", tt.name, buf.Len(), tt.maxGzipped)
		}
		if !bytes.Contains(b, []byte(tt.mustContain)) {
			t.Errorf("%s does not contain %q", tt.name, tt.mustContain)
		}
	}
	if _, err := File("nope.js"); err == nil {
		t.Error("File(nope.js) succeeded")
	}
}
