-- A visitor has at most one open conversation: two tabs (on two nodes) that
-- send a first message at the same moment made two, and the visitor's
-- messages split between them. Older duplicates are closed first.
UPDATE conversations SET status = 'closed', closed_at = updated_at
WHERE status <> 'closed' AND EXISTS (
    SELECT 1 FROM conversations newer
    WHERE newer.visitor_id = conversations.visitor_id AND newer.status <> 'closed'
      AND (newer.created_at > conversations.created_at
           OR (newer.created_at = conversations.created_at AND newer.id > conversations.id)));
CREATE UNIQUE INDEX conversations_one_open ON conversations (visitor_id) WHERE status <> 'closed';
