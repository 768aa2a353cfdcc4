-- first_queued_at is when the conversation first entered a queue; queued_at
-- moves on every re-queue (a transfer to another group, an agent gone), so
-- reports measured first response and resolution from the last one.
ALTER TABLE conversations ADD COLUMN first_queued_at INTEGER;
UPDATE conversations SET first_queued_at = queued_at WHERE queued_at IS NOT NULL;
