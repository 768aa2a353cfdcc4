package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/frontdesk/frontdesk/data"
	"github.com/frontdesk/frontdesk/handoff"
)

// defaultGroups are created on first start; admins change them later.
var defaultGroups = []data.SkillGroup{
	{ID: "default_support", Name: "General support 综合客服"},
	{ID: "order_support", Name: "Orders and delivery 订单与配送", Settings: data.GroupSettings{FallbackGroup: "default_support", OverflowAfterSeconds: 180}},
	{ID: "tech_support", Name: "Technical support 技术支持", Settings: data.GroupSettings{FallbackGroup: "default_support", OverflowAfterSeconds: 300}},
}

type groupStore interface {
	GetGroup(ctx context.Context, id string) (data.SkillGroup, error)
	UpsertGroup(ctx context.Context, g data.SkillGroup) (data.SkillGroup, error)
}

// seedHandoff creates the default skill groups that do not exist yet.
func seedHandoff(ctx context.Context, store groupStore, _ *serverConfig, log *slog.Logger) error {
	for _, g := range defaultGroups {
		_, err := store.GetGroup(ctx, g.ID)
		if err == nil {
			continue
		}
		if !errors.Is(err, data.ErrNotFound) {
			return err
		}
		if _, err := store.UpsertGroup(ctx, g); err != nil {
			return err
		}
		log.Info("created skill group", slog.String("group", g.ID))
	}
	return nil
}

type agentLister interface {
	ListAgents(ctx context.Context) ([]data.Agent, error)
}

// firstAdmin creates an admin with a random password when there are no
// agents at all, and writes the password to <data-dir>/initial-admin.txt
// (mode 0600) so the console can be tried at once. Change it after signing in.
func firstAdmin(ctx context.Context, store agentLister, accounts *handoff.Accounts, cfg *serverConfig, log *slog.Logger) error {
	agents, err := store.ListAgents(ctx)
	if err != nil || len(agents) > 0 {
		return err
	}
	password, err := randomPassword()
	if err != nil {
		return err
	}
	const email = "admin@example.com"
	groups := make([]string, 0, len(defaultGroups))
	for _, g := range defaultGroups {
		groups = append(groups, g.ID)
	}
	if _, err := accounts.CreateAgent(ctx, handoff.NewAgent{Email: email, Name: "Admin", Password: password, Role: data.RoleAdmin, Groups: groups, Capacity: 5}); err != nil {
		if errors.Is(err, data.ErrConflict) {
			return nil // another node sharing the database created it first
		}
		return err
	}
	path := filepath.Join(cfg.DataDir, "initial-admin.txt")
	if err := os.WriteFile(path, []byte(fmt.Sprintf("console: /console/\ne-mail: %s\npassword: %s\n", email, password)), 0o600); err != nil {
		return err
	}
	log.Warn("created the first admin; sign in to /console/ and change the password",
		slog.String("email", email), slog.String("password_file", path))
	return nil
}

// randomPassword returns a new 16-character password.
func randomPassword() (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
