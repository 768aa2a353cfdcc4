-- Sites, visitors, conversations and messages (PostgreSQL dialect of
-- migrations/sqlite/0001_init.sql: keep the two in step).
-- Timestamps are Unix milliseconds (BIGINT). Message bodies, metadata and
-- visitors' personal fields are sealed (AES-256-GCM) before they reach these
-- columns (BYTEA).
CREATE TABLE sites (
    id              TEXT PRIMARY KEY,
    key             TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    allowed_origins TEXT NOT NULL DEFAULT '[]',
    created_at      BIGINT NOT NULL
);

CREATE TABLE visitors (
    id           TEXT PRIMARY KEY,
    site_id      TEXT NOT NULL REFERENCES sites(id),
    personal     BYTEA,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);

CREATE TABLE conversations (
    id             TEXT PRIMARY KEY,
    site_id        TEXT NOT NULL REFERENCES sites(id),
    visitor_id     TEXT NOT NULL REFERENCES visitors(id),
    channel        TEXT NOT NULL DEFAULT 'web',
    status         TEXT NOT NULL CHECK (status IN ('bot', 'queued', 'assigned', 'closed')),
    skill_group    TEXT NOT NULL DEFAULT '',
    assigned_agent TEXT NOT NULL DEFAULT '',
    priority       INTEGER NOT NULL DEFAULT 0,
    last_seq       BIGINT NOT NULL DEFAULT 0,
    handoff_reason TEXT NOT NULL DEFAULT '',
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    closed_at      BIGINT
);
CREATE INDEX conversations_visitor ON conversations (visitor_id, created_at);
CREATE INDEX conversations_status ON conversations (status, updated_at);

CREATE TABLE messages (
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    seq             BIGINT NOT NULL,
    client_msg_id   TEXT,
    sender_kind     TEXT NOT NULL CHECK (sender_kind IN ('visitor', 'bot', 'agent', 'system')),
    sender_id       TEXT NOT NULL DEFAULT '',
    kind            TEXT NOT NULL,
    body            BYTEA NOT NULL,
    metadata        BYTEA,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, seq),
    UNIQUE (conversation_id, client_msg_id)
);
