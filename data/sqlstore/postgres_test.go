package sqlstore

import (
	"context"
	"testing"

	"github.com/frontdesk/frontdesk/data"
	"github.com/frontdesk/frontdesk/data/datatest"
)

// openPostgres opens a store on a fresh schema of the test database.
func openPostgres(t testing.TB, url string) *Store {
	t.Helper()
	s, err := OpenPostgres(context.Background(), url, testSealer(t), Options{})
	if err != nil {
		t.Fatalf("OpenPostgres: %v", err)
	}
	return s
}

func TestPostgresConformance(t *testing.T) {
	datatest.Run(t, func(t *testing.T) data.Store {
		return openPostgres(t, datatest.PostgresURL(t))
	})
}

func TestPostgresSharedConformance(t *testing.T) {
	datatest.RunShared(t, func(t *testing.T) (data.Store, data.Store) {
		url := datatest.PostgresURL(t)
		return openPostgres(t, url), openPostgres(t, url)
	})
}

func TestSQLiteSharedConformance(t *testing.T) {
	datatest.RunShared(t, func(t *testing.T) (data.Store, data.Store) {
		a, path := openTemp(t)
		b, err := OpenSQLite(context.Background(), path, testSealer(t), Options{})
		if err != nil {
			t.Fatalf("second OpenSQLite: %v", err)
		}
		return a, b
	})
}

// TestPostgresMigrationsIdempotent opens one schema twice at once, as two
// nodes starting together do; both end on the newest version.
func TestPostgresMigrationsConcurrent(t *testing.T) {
	url := datatest.PostgresURL(t)
	errs := make(chan error, 2)
	stores := make(chan *Store, 2)
	for i := 0; i < 2; i++ {
		go func() {
			s, err := OpenPostgres(context.Background(), url, testSealer(t), Options{})
			errs <- err
			stores <- s
		}()
	}
	for i := 0; i < 2; i++ {
		if err := <-errs; err != nil {
			t.Errorf("concurrent OpenPostgres: %v", err)
		}
		if s := <-stores; s != nil {
			var version int
			if err := s.read.QueryRowContext(context.Background(), "SELECT version FROM schema_version").Scan(&version); err != nil || version < 4 {
				t.Errorf("schema_version = %d, %v; want >= 4", version, err)
			}
			s.Close()
		}
	}
}

func TestNumberPlaceholders(t *testing.T) {
	tests := []struct{ in, want string }{
		{"SELECT 1", "SELECT 1"},
		{"a = ? AND b = ?", "a = $1 AND b = $2"},
		{"x = '?' AND y = ?", "x = '?' AND y = $1"},
		{`"we?ird" = ? OR z = 'it''s ?' OR w = ?`, `"we?ird" = $1 OR z = 'it''s ?' OR w = $2`},
	}
	for _, tt := range tests {
		if got := numberPlaceholders(tt.in); got != tt.want {
			t.Errorf("numberPlaceholders(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
