package sqlstore

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/frontdesk/frontdesk/data/seal"
)

// Key ids in the keys table. Data keys start at firstDataKeyID, above the
// ids of a master keyring (1, 2, ...), which the legacy keys keep: values
// sealed directly with the master key before data keys existed carry them.
const (
	indexKeyID     = 65535
	firstDataKeyID = 65536
)

// KeyInfo describes one row of the keys table (never the key itself).
type KeyInfo struct {
	ID        uint32    `json:"id"`
	Purpose   string    `json:"purpose"`
	Current   bool      `json:"current"`
	CreatedAt time.Time `json:"created_at"`
}

func keyAAD(id int64, purpose string) []byte {
	return []byte("key:" + purpose + ":" + strconv.FormatInt(id, 10))
}

// dataSealer seals with the store's current data key and opens with any
// data key, reloading the keys table once when a value names a key this
// node has not seen (another node rotated).
type dataSealer struct {
	s    *Store
	mu   sync.RWMutex
	ring *seal.Keyring
}

var _ seal.Sealer = (*dataSealer)(nil)

func (d *dataSealer) current() *seal.Keyring {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.ring
}

// Seal encrypts with the current data key.
func (d *dataSealer) Seal(plaintext, aad []byte) ([]byte, error) {
	return d.current().Seal(plaintext, aad)
}

// Open decrypts with the data key the value names.
func (d *dataSealer) Open(sealed, aad []byte) ([]byte, error) {
	ring := d.current()
	if id, ok := seal.KeyID(sealed); ok && !ring.Has(id) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := d.s.loadKeys(ctx); err == nil {
			ring = d.current()
		}
	}
	return ring.Open(sealed, aad)
}

type keyRow struct {
	id      int64
	purpose string
	wrapped []byte
	created int64
}

type querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

func readKeyRows(ctx context.Context, q querier) ([]keyRow, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, purpose, wrapped, created_at FROM keys ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []keyRow
	for rows.Next() {
		var r keyRow
		if err := rows.Scan(&r.id, &r.purpose, &r.wrapped, &r.created); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// sealedRows counts the rows holding values sealed before the keys table had
// data keys: those were sealed with the master key itself.
const sealedRows = `SELECT (SELECT COUNT(*) FROM messages) + (SELECT COUNT(*) FROM visitors WHERE personal IS NOT NULL) +
	(SELECT COUNT(*) FROM tickets) + (SELECT COUNT(*) FROM files) + (SELECT COUNT(*) FROM visitor_events WHERE props IS NOT NULL) +
	(SELECT COUNT(*) FROM sites WHERE identity_keys IS NOT NULL) + (SELECT COUNT(*) FROM conversations WHERE rating_comment IS NOT NULL)`

// initKeys makes sure the keys table holds the blind-index key and a data
// key (nodes starting together take a lock, so they agree on them), then
// loads every key. On a database written before data keys, the master
// keyring's keys are kept as legacy data keys (wrapped by the master key)
// so the values they sealed stay readable after the master key changes.
func (s *Store) initKeys(ctx context.Context) error {
	err := s.submit(ctx, func(ctx context.Context, tx *txn) error {
		if err := tx.lock(ctx, "frontdesk.keys"); err != nil {
			return err
		}
		rows, err := readKeyRows(ctx, tx)
		if err != nil {
			return err
		}
		hasIndex, hasData := false, false
		for _, r := range rows {
			hasIndex = hasIndex || r.purpose == "index"
			hasData = hasData || (r.purpose == "data" && r.id >= firstDataKeyID)
		}
		insert := func(id int64, purpose string, key []byte) error {
			wrapped, err := s.master.Seal(key, keyAAD(id, purpose))
			if err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO keys (id, purpose, wrapped, created_at) VALUES (?, ?, ?, ?)`, id, purpose, wrapped, ms(now()))
			return err
		}
		if !hasIndex {
			key, err := seal.NewKey()
			if err != nil {
				return err
			}
			if err := insert(indexKeyID, "index", key); err != nil {
				return err
			}
		}
		if hasData {
			return nil
		}
		var legacy int64
		if err := tx.QueryRowContext(ctx, sealedRows).Scan(&legacy); err != nil {
			return err
		}
		if ring, ok := s.master.(*seal.Keyring); ok && legacy > 0 {
			for id, key := range ring.Keys() {
				if err := insert(int64(id), "data", key); err != nil {
					return err
				}
			}
		}
		key, err := seal.NewKey()
		if err != nil {
			return err
		}
		return insert(firstDataKeyID, "data", key)
	})
	if err != nil {
		return fmt.Errorf("sqlstore: keys: %w", err)
	}
	return s.loadKeys(ctx)
}

// loadKeys unwraps every key of the keys table with the master key: the
// blind-index key and the data keys (the newest seals).
func (s *Store) loadKeys(ctx context.Context) error {
	rows, err := readKeyRows(ctx, s.read)
	if err != nil {
		return fmt.Errorf("sqlstore: load keys: %w", err)
	}
	data := map[uint32][]byte{}
	var current uint32
	var index []byte
	for _, r := range rows {
		key, err := s.master.Open(r.wrapped, keyAAD(r.id, r.purpose))
		if err != nil {
			return fmt.Errorf("sqlstore: load keys: key %d does not open with this master key (wrong --master-key?): %w", r.id, err)
		}
		switch r.purpose {
		case "index":
			index = key
		case "data":
			data[uint32(r.id)] = key
			if uint32(r.id) >= firstDataKeyID && uint32(r.id) > current {
				current = uint32(r.id)
			}
		}
	}
	if index == nil || current == 0 {
		return errors.New("sqlstore: load keys: the keys table has no index key or data key")
	}
	ring, err := seal.NewKeyringIDs(current, data)
	if err != nil {
		return fmt.Errorf("sqlstore: load keys: %w", err)
	}
	s.keys.mu.Lock()
	s.keys.ring = ring
	s.keys.mu.Unlock()
	s.indexOnce.Do(func() { s.index = index })
	return nil
}

// RotateDataKey adds a new data key, which seals from now on (on other
// nodes from when they first meet a value it sealed, or restart); the older
// keys keep opening the values they sealed.
func (s *Store) RotateDataKey(ctx context.Context) (uint32, error) {
	key, err := seal.NewKey()
	if err != nil {
		return 0, err
	}
	var id int64
	err = s.submit(ctx, func(ctx context.Context, tx *txn) error {
		if err := tx.lock(ctx, "frontdesk.keys"); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM keys WHERE purpose = 'data'`).Scan(&id); err != nil {
			return err
		}
		if id++; id < firstDataKeyID {
			id = firstDataKeyID
		}
		wrapped, err := s.master.Seal(key, keyAAD(id, "data"))
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO keys (id, purpose, wrapped, created_at) VALUES (?, 'data', ?, ?)`, id, wrapped, ms(now()))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlstore: rotate data key: %w", err)
	}
	if err := s.loadKeys(ctx); err != nil {
		return 0, err
	}
	return uint32(id), nil
}

// RewrapKeys wraps every key of the keys table with a new master key, in
// one transaction; from then on the store must be opened with newMaster.
// The values themselves are not touched.
func (s *Store) RewrapKeys(ctx context.Context, newMaster seal.Sealer) error {
	err := s.submit(ctx, func(ctx context.Context, tx *txn) error {
		if err := tx.lock(ctx, "frontdesk.keys"); err != nil {
			return err
		}
		rows, err := readKeyRows(ctx, tx)
		if err != nil {
			return err
		}
		for _, r := range rows {
			key, err := s.master.Open(r.wrapped, keyAAD(r.id, r.purpose))
			if err != nil {
				return fmt.Errorf("key %d: %w", r.id, err)
			}
			wrapped, err := newMaster.Seal(key, keyAAD(r.id, r.purpose))
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE keys SET wrapped = ? WHERE id = ?`, wrapped, r.id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlstore: rewrap keys: %w", err)
	}
	s.master = newMaster
	return nil
}

// Keys lists the keys table (ids, purposes, dates; never key material).
func (s *Store) Keys(ctx context.Context) ([]KeyInfo, error) {
	rows, err := readKeyRows(ctx, s.read)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: keys: %w", err)
	}
	cur := s.keys.current().Current()
	out := make([]KeyInfo, len(rows))
	for i, r := range rows {
		out[i] = KeyInfo{ID: uint32(r.id), Purpose: r.purpose, Current: uint32(r.id) == cur && r.purpose == "data", CreatedAt: fromMS(r.created)}
	}
	return out, nil
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
