-- A client's retry of a message is recognised by its client_msg_id among the
-- conversation's latest ones, kept hashed in the conversation row (which
-- every append rewrites anyway), instead of by a unique index on messages:
-- that index cost every message one more B-tree page written to the log.
-- NULL means "not computed yet": the store fills it from the messages on
-- the conversation's next message with a client_msg_id.
-- SQLite cannot drop a table constraint, so messages is rebuilt without it.
CREATE TABLE messages_new (
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    seq             INTEGER NOT NULL,
    client_msg_id   TEXT,
    sender_kind     TEXT NOT NULL CHECK (sender_kind IN ('visitor', 'bot', 'agent', 'system')),
    sender_id       TEXT NOT NULL DEFAULT '',
    kind            TEXT NOT NULL,
    body            BLOB NOT NULL,
    metadata        BLOB,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, seq)
);
INSERT INTO messages_new (conversation_id, seq, client_msg_id, sender_kind, sender_id, kind, body, metadata, created_at)
    SELECT conversation_id, seq, client_msg_id, sender_kind, sender_id, kind, body, metadata, created_at FROM messages ORDER BY rowid;
DROP TABLE messages;
ALTER TABLE messages_new RENAME TO messages;
ALTER TABLE conversations ADD COLUMN client_ids TEXT;
UPDATE conversations SET client_ids = '' WHERE NOT EXISTS (
    SELECT 1 FROM messages WHERE messages.conversation_id = conversations.id AND messages.client_msg_id IS NOT NULL);
