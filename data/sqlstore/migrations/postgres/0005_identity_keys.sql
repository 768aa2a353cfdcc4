-- Identity verification and the keys table (PostgreSQL dialect of
-- migrations/sqlite/0005_identity_keys.sql: keep the two in step).
-- sites.identity_keys: the site's HS256 identity keys, sealed (AES-256-GCM).
-- visitors.external_index / email_index: blind indexes (HMAC-SHA256 under
-- the index key) of a verified identity's external id and e-mail.
-- keys: keys wrapped (sealed) by the master key: the blind-index key and
-- the data keys that seal values.
ALTER TABLE sites ADD COLUMN identity_keys BYTEA;
ALTER TABLE visitors ADD COLUMN external_index TEXT;
ALTER TABLE visitors ADD COLUMN email_index TEXT;
CREATE INDEX visitors_external ON visitors (site_id, external_index);
CREATE INDEX visitors_email ON visitors (site_id, email_index);

CREATE TABLE keys (
    id         BIGINT PRIMARY KEY,
    purpose    TEXT NOT NULL CHECK (purpose IN ('data', 'index')),
    wrapped    BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);
