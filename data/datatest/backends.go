package datatest

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/data"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// Environment variables naming the test servers, and their defaults (the
// services of the development and CI machines).
const (
	PostgresEnv        = "FRONTDESK_TEST_POSTGRES_URL"
	RedisEnv           = "FRONTDESK_TEST_REDIS_URL"
	DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	DefaultRedisURL    = "redis://127.0.0.1:6379/0"
)

// unavailable skips the test, or fails it under CI=true, where the servers
// are part of the contract and a skip would hide a broken backend.
func unavailable(t testing.TB, what string, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required under CI=true: %v", what, err)
	}
	t.Skipf("%s unavailable (set %s or run it): %v", what, envFor(what), err)
}

func envFor(what string) string {
	if strings.HasPrefix(what, "Redis") {
		return RedisEnv
	}
	return PostgresEnv
}

// PostgresURL returns the URL of a fresh, empty schema in the test database
// (its own search_path), dropped when the test ends, so parallel runs and
// tests never see each other's rows. It skips the test when PostgreSQL is
// unreachable, except under CI=true, where it fails.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		base = DefaultPostgresURL
	}
	db, err := sql.Open("pgx", base)
	if err != nil {
		unavailable(t, "PostgreSQL", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		unavailable(t, "PostgreSQL", err)
	}
	schema := "fdtest_" + strings.ToLower(data.NewID(""))
	if _, err := db.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		db.Close()
		t.Fatalf("create schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
		db.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", PostgresEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// RedisURL returns the URL of the test Redis after checking that it answers
// PING. It skips the test when Redis is unreachable, except under CI=true,
// where it fails. Tests share the server: give keys and channels a per-test
// prefix.
func RedisURL(t testing.TB) string {
	t.Helper()
	raw := os.Getenv(RedisEnv)
	if raw == "" {
		raw = DefaultRedisURL
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("%s: %v", RedisEnv, err)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "6379")
	}
	if err := ping(host); err != nil {
		unavailable(t, "Redis", err)
	}
	return raw
}

func ping(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") && !strings.HasPrefix(line, "-NOAUTH") {
		return fmt.Errorf("PING answered %q", strings.TrimSpace(line))
	}
	return nil
}
