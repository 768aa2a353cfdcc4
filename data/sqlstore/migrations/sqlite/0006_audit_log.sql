-- The append-only audit log of access to personal data (view, export,
-- erase, settings change). Each row stores the SHA-256 hash of the previous
-- row and its own (data.AuditEntry.ComputeHash), so an edited or deleted row
-- breaks the chain: frontdesk audit verify.
CREATE TABLE audit_log (
    seq        INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id   TEXT NOT NULL,
    action     TEXT NOT NULL,
    site_id    TEXT NOT NULL DEFAULT '',
    target     TEXT NOT NULL DEFAULT '',
    detail     TEXT NOT NULL DEFAULT '',
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);
CREATE INDEX conversations_site_updated ON conversations (site_id, updated_at);
