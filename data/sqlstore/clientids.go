package sqlstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/frontdesk/frontdesk/data"
)

// A retried message is recognised by its client_msg_id. Instead of a unique
// index on messages (one more B-tree page written per message), every
// conversation row keeps the hashes of its latest client ids in client_ids,
// and the append's UPDATE of that row, which allocates the seq anyway,
// checks and extends it. A hash found there is confirmed against the
// messages themselves, so a collision never drops a message.
//
// The promise is therefore bounded (data.ClientIDWindow): a retry is
// recognised while its message is among the conversation's last idWindow
// messages that carry a client id. Clients retry what was not acknowledged,
// within seconds or at the next reconnect; a retry later than that may be
// stored again.
const (
	idWindow  = data.ClientIDWindow
	idHashLen = 8 // hex characters: the first 4 bytes of SHA-256
	idChars   = idWindow * idHashLen
)

// clientIDHash is the window entry of a client id.
func clientIDHash(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:idHashLen/2])
}

// windowHas reports whether window holds h as an entry.
func windowHas(window, h string) bool {
	for i := 0; i+idHashLen <= len(window); i += idHashLen {
		if window[i:i+idHashLen] == h {
			return true
		}
	}
	return false
}

// fillWindow computes a conversation's window from its stored messages, for
// rows the migration left NULL, and writes it.
func (s *Store) fillWindow(ctx context.Context, tx *txn, conversationID string) error {
	w, err := readWindow(ctx, tx, conversationID)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE conversations SET client_ids = ? WHERE id = ?`, w, conversationID)
	return err
}

// readWindow builds a conversation's window from its stored messages.
func readWindow(ctx context.Context, tx *txn, conversationID string) (string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT client_msg_id FROM messages
		WHERE conversation_id = ? AND client_msg_id IS NOT NULL ORDER BY seq DESC LIMIT ?`, conversationID, idWindow)
	if err != nil {
		return "", err
	}
	var newestFirst []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return "", err
		}
		newestFirst = append(newestFirst, clientIDHash(id))
	}
	if err := rows.Close(); err != nil {
		return "", err
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	var b strings.Builder
	for i := len(newestFirst) - 1; i >= 0; i-- {
		b.WriteString(newestFirst[i])
	}
	return b.String(), nil
}
