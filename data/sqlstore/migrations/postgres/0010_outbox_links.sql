-- Outbox items name the site, visitor, conversation and ticket they concern,
-- so erasure deletes a visitor's pending and delivered e-mails and webhook
-- deliveries, and the retention purge deletes those of purged conversations
-- and delivered items older than the site's retention period. Items queued
-- before this migration have no links (their payloads are sealed, so they
-- cannot be linked here); docs/security.md says how to remove them.
ALTER TABLE outbox ADD COLUMN site_id TEXT;
ALTER TABLE outbox ADD COLUMN visitor_id TEXT;
ALTER TABLE outbox ADD COLUMN conversation_id TEXT;
ALTER TABLE outbox ADD COLUMN ticket_id TEXT;
CREATE INDEX outbox_visitor ON outbox (visitor_id);
CREATE INDEX outbox_conversation ON outbox (conversation_id);
CREATE INDEX outbox_ticket ON outbox (ticket_id);
CREATE INDEX outbox_site_done ON outbox (site_id, done_at);
