-- Per-site settings (widget: pre-chat form, proactive invitations) and
-- visitor events (tracked page events, invitations shown/clicked/converted).
ALTER TABLE sites ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';

CREATE TABLE visitor_events (
    id              TEXT PRIMARY KEY,
    site_id         TEXT NOT NULL REFERENCES sites(id),
    visitor_id      TEXT NOT NULL REFERENCES visitors(id),
    conversation_id TEXT NOT NULL DEFAULT '',
    name            TEXT NOT NULL,
    props           BYTEA,
    created_at      BIGINT NOT NULL
);
CREATE INDEX visitor_events_site ON visitor_events (site_id, name, created_at);
CREATE INDEX visitor_events_visitor ON visitor_events (visitor_id, created_at);
