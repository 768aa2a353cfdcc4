package handoff

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/frontdesk/frontdesk/data"
)

// ErrBadCredentials means the e-mail and password do not match an enabled agent.
var ErrBadCredentials = errors.New("handoff: wrong e-mail or password")

// ErrNoSession means the session token is unknown or expired.
var ErrNoSession = errors.New("handoff: no valid session")

// AccountStore is what account handling needs from storage.
type AccountStore interface {
	CreateAgent(ctx context.Context, a data.Agent) (data.Agent, error)
	UpdateAgent(ctx context.Context, a data.Agent) (data.Agent, error)
	GetAgent(ctx context.Context, id string) (data.Agent, error)
	AgentByEmail(ctx context.Context, email string) (data.Agent, error)
	GetGroup(ctx context.Context, id string) (data.SkillGroup, error)
	CreateAgentSession(ctx context.Context, s data.AgentSession) error
	AgentSession(ctx context.Context, idHash string) (data.AgentSession, error)
	DeleteAgentSession(ctx context.Context, idHash string) error
}

// Accounts manages agent accounts, passwords and console sessions.
type Accounts struct {
	store AccountStore
	ttl   time.Duration
	cost  int
	dummy []byte
	now   func() time.Time
}

// NewAccounts returns account handling with sessions lasting ttl. cost is
// the bcrypt cost (bcrypt.DefaultCost when 0).
func NewAccounts(store AccountStore, ttl time.Duration, cost int) *Accounts {
	if ttl <= 0 {
		ttl = 12 * time.Hour
	}
	if cost == 0 {
		cost = bcrypt.DefaultCost
	}
	dummy, _ := bcrypt.GenerateFromPassword([]byte("frontdesk-timing-equaliser"), cost)
	return &Accounts{store: store, ttl: ttl, cost: cost, dummy: dummy, now: func() time.Time { return time.Now().UTC() }}
}

// MinPasswordLen is the shortest password accepted.
const MinPasswordLen = 10

// NewAgent is the input for creating an agent.
type NewAgent struct {
	Email, Name, Password string
	Role                  data.Role
	Groups, Languages     []string
	Capacity              int
}

func checkPassword(pw string) error {
	if utf8.RuneCountInString(pw) < MinPasswordLen || len(pw) > 72 {
		return fmt.Errorf("password must be at least %d characters and at most 72 bytes in UTF-8 (e.g. 24 Chinese characters): %w", MinPasswordLen, data.ErrInvalid)
	}
	return nil
}

// CreateAgent validates the input, hashes the password and stores the agent.
func (a *Accounts) CreateAgent(ctx context.Context, in NewAgent) (data.Agent, error) {
	if err := checkPassword(in.Password); err != nil {
		return data.Agent{}, fmt.Errorf("handoff: create agent: %w", err)
	}
	if in.Role == "" {
		in.Role = data.RoleAgent
	}
	if in.Capacity == 0 && in.Role != data.RoleEditor {
		in.Capacity = 3
	}
	if err := a.checkGroups(ctx, in.Groups); err != nil {
		return data.Agent{}, fmt.Errorf("handoff: create agent: %w", err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(in.Password), a.cost)
	if err != nil {
		return data.Agent{}, fmt.Errorf("handoff: create agent: %w", err)
	}
	agent, err := a.store.CreateAgent(ctx, data.Agent{Email: in.Email, Name: strings.TrimSpace(in.Name), Role: in.Role,
		PasswordHash: string(hash), Capacity: in.Capacity, Languages: in.Languages, Groups: in.Groups})
	if err != nil {
		return data.Agent{}, fmt.Errorf("handoff: create agent: %w", err)
	}
	return agent, nil
}

// SetPassword replaces an agent's password; the agent's console sessions end.
func (a *Accounts) SetPassword(ctx context.Context, agentID, password string) error {
	if _, err := a.UpdateAgent(ctx, agentID, AgentChanges{Password: &password}); err != nil {
		return fmt.Errorf("handoff: set password: %w", err)
	}
	return nil
}

// AgentChanges are the fields of an agent to change (nil: unchanged).
type AgentChanges struct {
	Name              *string
	Role              *data.Role
	Groups, Languages []string
	Capacity          *int
	Disabled          *bool
	Password          *string
}

// UpdateAgent applies changes to an agent in one write after checking all
// of them (a bad password or an unknown group changes nothing). A new
// password or disabling the account ends the agent's console sessions.
func (a *Accounts) UpdateAgent(ctx context.Context, agentID string, ch AgentChanges) (data.Agent, error) {
	agent, err := a.store.GetAgent(ctx, agentID)
	if err != nil {
		return data.Agent{}, fmt.Errorf("handoff: update agent: %w", err)
	}
	agent.PasswordHash = "" // kept unless a new password is given
	if ch.Password != nil {
		if err := checkPassword(*ch.Password); err != nil {
			return data.Agent{}, fmt.Errorf("handoff: update agent: %w", err)
		}
		hash, err := bcrypt.GenerateFromPassword([]byte(*ch.Password), a.cost)
		if err != nil {
			return data.Agent{}, fmt.Errorf("handoff: update agent: %w", err)
		}
		agent.PasswordHash = string(hash)
	}
	if ch.Groups != nil {
		if err := a.checkGroups(ctx, ch.Groups); err != nil {
			return data.Agent{}, fmt.Errorf("handoff: update agent: %w", err)
		}
		agent.Groups = ch.Groups
	}
	if ch.Name != nil {
		agent.Name = strings.TrimSpace(*ch.Name)
	}
	if ch.Role != nil {
		agent.Role = *ch.Role
	}
	if ch.Languages != nil {
		agent.Languages = ch.Languages
	}
	if ch.Capacity != nil {
		agent.Capacity = *ch.Capacity
	}
	if ch.Disabled != nil {
		agent.Disabled = *ch.Disabled
	}
	out, err := a.store.UpdateAgent(ctx, agent)
	if err != nil {
		return data.Agent{}, fmt.Errorf("handoff: update agent: %w", err)
	}
	return out, nil
}

// checkGroups reports the first of groups that does not exist.
func (a *Accounts) checkGroups(ctx context.Context, groups []string) error {
	for _, g := range groups {
		if _, err := a.store.GetGroup(ctx, g); err != nil {
			return fmt.Errorf("skill group %q: %w", g, data.ErrInvalid)
		}
	}
	return nil
}

// Session is a logged-in console session as the browser holds it.
type Session struct {
	Token     string
	CSRFToken string
	ExpiresAt time.Time
	Agent     data.Agent
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Login checks the password and opens a session. The time taken does not
// reveal whether the e-mail exists.
func (a *Accounts) Login(ctx context.Context, email, password string) (Session, error) {
	agent, err := a.store.AgentByEmail(ctx, email)
	if err != nil {
		_ = bcrypt.CompareHashAndPassword(a.dummy, []byte(password))
		if errors.Is(err, data.ErrNotFound) {
			return Session{}, ErrBadCredentials
		}
		return Session{}, fmt.Errorf("handoff: login: %w", err)
	}
	if bcrypt.CompareHashAndPassword([]byte(agent.PasswordHash), []byte(password)) != nil || agent.Disabled {
		return Session{}, ErrBadCredentials
	}
	token, err := randomToken()
	if err != nil {
		return Session{}, fmt.Errorf("handoff: login: %w", err)
	}
	csrf, err := randomToken()
	if err != nil {
		return Session{}, fmt.Errorf("handoff: login: %w", err)
	}
	s := Session{Token: token, CSRFToken: csrf, ExpiresAt: a.now().Add(a.ttl).Truncate(time.Millisecond), Agent: agent}
	if err := a.store.CreateAgentSession(ctx, data.AgentSession{IDHash: hashToken(token), AgentID: agent.ID, CSRFToken: csrf, CreatedAt: a.now(), ExpiresAt: s.ExpiresAt}); err != nil {
		return Session{}, fmt.Errorf("handoff: login: %w", err)
	}
	return s, nil
}

// ChangePassword replaces the signed-in agent's own password after checking
// the current one. Every session of the agent ends (a stolen one too), and
// a new session is returned for the browser that made the change.
func (a *Accounts) ChangePassword(ctx context.Context, agentID, current, next string) (Session, error) {
	agent, err := a.store.GetAgent(ctx, agentID)
	if err != nil {
		return Session{}, fmt.Errorf("handoff: change password: %w", err)
	}
	if bcrypt.CompareHashAndPassword([]byte(agent.PasswordHash), []byte(current)) != nil {
		return Session{}, ErrBadCredentials
	}
	if current == next {
		return Session{}, fmt.Errorf("handoff: change password: the new password is the current one: %w", data.ErrInvalid)
	}
	if err := a.SetPassword(ctx, agentID, next); err != nil {
		return Session{}, err
	}
	return a.Login(ctx, agent.Email, next)
}

// Authenticate returns the session and agent for a token.
func (a *Accounts) Authenticate(ctx context.Context, token string) (Session, error) {
	if token == "" || len(token) > 100 {
		return Session{}, ErrNoSession
	}
	sess, err := a.store.AgentSession(ctx, hashToken(token))
	if errors.Is(err, data.ErrNotFound) {
		return Session{}, ErrNoSession
	}
	if err != nil {
		return Session{}, fmt.Errorf("handoff: authenticate: %w", err)
	}
	if !a.now().Before(sess.ExpiresAt) {
		_ = a.store.DeleteAgentSession(ctx, sess.IDHash)
		return Session{}, ErrNoSession
	}
	agent, err := a.store.GetAgent(ctx, sess.AgentID)
	if errors.Is(err, data.ErrNotFound) || (err == nil && agent.Disabled) {
		return Session{}, ErrNoSession
	}
	if err != nil {
		return Session{}, fmt.Errorf("handoff: authenticate: %w", err)
	}
	return Session{Token: token, CSRFToken: sess.CSRFToken, ExpiresAt: sess.ExpiresAt, Agent: agent}, nil
}

// Logout ends a session.
func (a *Accounts) Logout(ctx context.Context, token string) error {
	if err := a.store.DeleteAgentSession(ctx, hashToken(token)); err != nil {
		return fmt.Errorf("handoff: logout: %w", err)
	}
	return nil
}

// CreateToken opens a long-lived session for API access by another system,
// acting as the agent. The token is shown once; only its hash is stored.
func (a *Accounts) CreateToken(ctx context.Context, agentID string, ttl time.Duration) (Session, error) {
	if ttl <= 0 || ttl > 2*365*24*time.Hour {
		return Session{}, fmt.Errorf("handoff: token lifetime must be 1 day to 2 years: %w", data.ErrInvalid)
	}
	agent, err := a.store.GetAgent(ctx, agentID)
	if err != nil {
		return Session{}, fmt.Errorf("handoff: create token: %w", err)
	}
	token, err := randomToken()
	if err != nil {
		return Session{}, fmt.Errorf("handoff: create token: %w", err)
	}
	csrf, err := randomToken()
	if err != nil {
		return Session{}, fmt.Errorf("handoff: create token: %w", err)
	}
	s := Session{Token: "fdt_" + token, CSRFToken: csrf, ExpiresAt: a.now().Add(ttl).Truncate(time.Millisecond), Agent: agent}
	if err := a.store.CreateAgentSession(ctx, data.AgentSession{IDHash: hashToken(s.Token), AgentID: agent.ID, CSRFToken: csrf, CreatedAt: a.now(), ExpiresAt: s.ExpiresAt}); err != nil {
		return Session{}, fmt.Errorf("handoff: create token: %w", err)
	}
	return s, nil
}
