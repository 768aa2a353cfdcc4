-- Uploaded files (images, documents) attached to messages. The content is
-- sealed and kept in the database so every node can serve it.
CREATE TABLE files (
    id              TEXT PRIMARY KEY,
    site_id         TEXT NOT NULL REFERENCES sites(id),
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    uploader_kind   TEXT NOT NULL,
    uploader_id     TEXT NOT NULL,
    name            BYTEA NOT NULL,
    content_type    TEXT NOT NULL,
    size            BIGINT NOT NULL,
    content         BYTEA NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX files_conversation ON files (conversation_id);
