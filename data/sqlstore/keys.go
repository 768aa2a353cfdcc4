package sqlstore

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/frontdesk/frontdesk/data/seal"
)

// indexKeyID is the keys row of the blind-index key.
const indexKeyID = 65535

func keyAAD(id int64, purpose string) []byte {
	return []byte("key:" + purpose + ":" + strconv.FormatInt(id, 10))
}

// initIndexKey loads the blind-index key, creating it (random, wrapped by
// the master key) on first use. Nodes starting together take a lock, so
// they agree on one key.
func (s *Store) initIndexKey(ctx context.Context) error {
	var key []byte
	err := s.submit(ctx, func(ctx context.Context, tx *txn) error {
		if err := tx.lock(ctx, "frontdesk.keys"); err != nil {
			return err
		}
		var wrapped []byte
		err := tx.QueryRowContext(ctx, `SELECT wrapped FROM keys WHERE id = ?`, indexKeyID).Scan(&wrapped)
		if err == nil {
			key, err = s.master.Open(wrapped, keyAAD(indexKeyID, "index"))
			return err
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		key = make([]byte, seal.KeySize)
		if _, err := rand.Read(key); err != nil {
			return err
		}
		if wrapped, err = s.master.Seal(key, keyAAD(indexKeyID, "index")); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO keys (id, purpose, wrapped, created_at) VALUES (?, 'index', ?, ?)`, indexKeyID, wrapped, ms(now()))
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: index key: %w", err)
	}
	s.index = key
	return nil
}

// blind returns the keyed hash (blind index) of a value of a kind within a
// site, or nil (SQL NULL) for an empty value.
func (s *Store) blind(kind, siteID, value string) any {
	if value == "" {
		return nil
	}
	if kind == "email" {
		value = strings.ToLower(strings.TrimSpace(value))
	}
	m := hmac.New(sha256.New, s.index)
	m.Write([]byte(kind + "\x00" + siteID + "\x00" + value))
	return hex.EncodeToString(m.Sum(nil))
}
