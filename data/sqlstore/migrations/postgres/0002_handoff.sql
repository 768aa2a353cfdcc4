-- Agents, skill groups, queues, tickets, canned responses and the outbox.
ALTER TABLE conversations ADD COLUMN queued_at BIGINT;
ALTER TABLE conversations ADD COLUMN assigned_at BIGINT;
ALTER TABLE conversations ADD COLUMN first_response_at BIGINT;
ALTER TABLE conversations ADD COLUMN rating INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN rating_comment BYTEA;
CREATE INDEX conversations_queue ON conversations (status, skill_group, priority, queued_at);
CREATE INDEX conversations_agent ON conversations (assigned_agent, status);

CREATE TABLE skill_groups (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    settings   TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL
);

CREATE TABLE agents (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'agent', 'editor')),
    password_hash TEXT NOT NULL,
    capacity      INTEGER NOT NULL DEFAULT 3,
    languages     TEXT NOT NULL DEFAULT '[]',
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL
);

CREATE TABLE agent_groups (
    agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    group_id TEXT NOT NULL REFERENCES skill_groups(id) ON DELETE CASCADE,
    PRIMARY KEY (agent_id, group_id)
);

CREATE TABLE agent_sessions (
    id_hash    TEXT PRIMARY KEY,
    agent_id   TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX agent_sessions_agent ON agent_sessions (agent_id);

CREATE TABLE tickets (
    id              TEXT PRIMARY KEY,
    site_id         TEXT NOT NULL REFERENCES sites(id),
    conversation_id TEXT REFERENCES conversations(id),
    visitor_id      TEXT REFERENCES visitors(id),
    group_id        TEXT NOT NULL DEFAULT '',
    assignee        TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL CHECK (status IN ('open', 'pending', 'solved')),
    subject         BYTEA NOT NULL,
    body            BYTEA NOT NULL,
    contact         BYTEA,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    solved_at       BIGINT
);
CREATE INDEX tickets_status ON tickets (status, updated_at);

CREATE TABLE ticket_events (
    ticket_id  TEXT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    seq        BIGINT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('note', 'reply', 'status')),
    author_id  TEXT NOT NULL DEFAULT '',
    body       BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (ticket_id, seq)
);

CREATE TABLE canned_responses (
    id         TEXT PRIMARY KEY,
    shortcut   TEXT NOT NULL UNIQUE,
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE outbox (
    id              TEXT PRIMARY KEY,
    kind            TEXT NOT NULL,
    payload         BYTEA NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    claimed_until   BIGINT NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    done_at         BIGINT,
    created_at      BIGINT NOT NULL
);
CREATE INDEX outbox_due ON outbox (done_at, next_attempt_at);
