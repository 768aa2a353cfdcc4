//go:build unix

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestLockDataDir(t *testing.T) {
	tests := []struct {
		name    string
		held    bool // another lock is held when lockDataDir is called
		release bool // ... and released before
		wantErr string
	}{
		{"free data dir", false, false, ""},
		{"held by another server", true, false, fmt.Sprintf("is in use by another frontdesk process (pid %d)", os.Getpid())},
		{"released by the other server", true, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.held {
				release, err := lockDataDir(dir)
				if err != nil {
					t.Fatalf("first lockDataDir(%s) = %v", dir, err)
				}
				if tt.release {
					release()
				} else {
					defer release()
				}
			}
			release, err := lockDataDir(dir)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("lockDataDir(%s) = %v, want an error containing %q", dir, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("lockDataDir(%s) = %v, want the lock", dir, err)
			}
			defer release()
			b, _ := os.ReadFile(filepath.Join(dir, lockFileName))
			if strings.TrimSpace(string(b)) != strconv.Itoa(os.Getpid()) {
				t.Errorf("%s holds %q, want this process's pid %d", lockFileName, b, os.Getpid())
			}
		})
	}
}

// TestSecondServeOnOneDataDir: a second server on a data dir in use stops
// at once with the first one's pid instead of hanging on the index's lock.
func TestSecondServeOnOneDataDir(t *testing.T) {
	ts := startServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", ts.dataDir}, &out, &errOut)
	}()
	select {
	case code := <-done:
		want := fmt.Sprintf("data dir %s is in use by another frontdesk process (pid %d)", ts.dataDir, os.Getpid())
		if code != 1 || !strings.Contains(errOut.String(), want) {
			t.Errorf("second frontdesk serve on %s = exit %d, stderr %q; want exit 1 with %q", ts.dataDir, code, errOut.String(), want)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("second frontdesk serve on %s still running after 30s, want it to stop at once", ts.dataDir)
	}
}
