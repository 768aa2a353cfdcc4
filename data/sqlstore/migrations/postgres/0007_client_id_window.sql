-- A client's retry of a message is recognised by its client_msg_id among the
-- conversation's latest ones, kept hashed in the conversation row (which
-- every append rewrites anyway), instead of by a unique index on messages.
-- NULL means "not computed yet": the store fills it from the messages on
-- the conversation's next message with a client_msg_id.
ALTER TABLE messages DROP CONSTRAINT IF EXISTS messages_conversation_id_client_msg_id_key;
ALTER TABLE conversations ADD COLUMN client_ids TEXT;
UPDATE conversations SET client_ids = '' WHERE NOT EXISTS (
    SELECT 1 FROM messages WHERE messages.conversation_id = conversations.id AND messages.client_msg_id IS NOT NULL);
