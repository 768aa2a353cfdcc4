package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/frontdesk/frontdesk/data"
)

func identityKeysAAD(siteID string) []byte { return []byte("site:" + siteID + ":identity_keys") }

// storedIdentityKey is how an identity key is kept inside the sealed column.
type storedIdentityKey struct {
	ID        string `json:"kid"`
	Secret    []byte `json:"secret"`
	CreatedAt int64  `json:"created_at"`
}

// SetIdentityKeys replaces a site's identity keys, sealed as one value.
func (s *Store) SetIdentityKeys(ctx context.Context, siteID string, keys []data.IdentityKey) error {
	stored := make([]storedIdentityKey, len(keys))
	for i, k := range keys {
		if k.ID == "" || len(k.Secret) < 16 {
			return fmt.Errorf("sqlstore: identity keys: key %d needs a kid and a secret of 16 bytes or more: %w", i, data.ErrInvalid)
		}
		stored[i] = storedIdentityKey{ID: k.ID, Secret: k.Secret, CreatedAt: ms(k.CreatedAt)}
	}
	pt, err := json.Marshal(stored)
	if err != nil {
		return fmt.Errorf("sqlstore: identity keys: %w", err)
	}
	sealed, err := s.sealer.Seal(pt, identityKeysAAD(siteID))
	if err != nil {
		return fmt.Errorf("sqlstore: identity keys: %w", err)
	}
	if err := s.changeOne(ctx, `UPDATE sites SET identity_keys = ? WHERE id = ?`, sealed, siteID); err != nil {
		return fmt.Errorf("sqlstore: identity keys of %s: %w", siteID, err)
	}
	return nil
}

// openIdentityKeys opens the sealed identity keys of a site.
func (s *Store) openIdentityKeys(siteID string, sealed []byte) ([]data.IdentityKey, error) {
	if len(sealed) == 0 {
		return nil, nil
	}
	pt, err := s.sealer.Open(sealed, identityKeysAAD(siteID))
	if err != nil {
		return nil, fmt.Errorf("identity keys: %w", err)
	}
	var stored []storedIdentityKey
	if err := json.Unmarshal(pt, &stored); err != nil {
		return nil, fmt.Errorf("identity keys: %w", err)
	}
	keys := make([]data.IdentityKey, len(stored))
	for i, k := range stored {
		keys[i] = data.IdentityKey{ID: k.ID, Secret: k.Secret, CreatedAt: fromMS(k.CreatedAt)}
	}
	return keys, nil
}

// VisitorByExternalID finds the site's oldest visitor whose verified
// identity has this external id, through its blind index.
func (s *Store) VisitorByExternalID(ctx context.Context, siteID, externalID string) (data.Visitor, error) {
	if externalID == "" {
		return data.Visitor{}, fmt.Errorf("sqlstore: visitor by external id: %w", data.ErrNotFound)
	}
	var id string
	err := s.read.QueryRowContext(ctx, `SELECT id FROM visitors WHERE site_id = ? AND external_index = ? ORDER BY created_at, id LIMIT 1`,
		siteID, s.blind("external", siteID, externalID)).Scan(&id)
	if err != nil {
		return data.Visitor{}, fmt.Errorf("sqlstore: visitor by external id: %w", notFound(err))
	}
	return s.GetVisitor(ctx, id)
}

// VisitorsByEmail finds the site's visitors whose verified e-mail is this one.
func (s *Store) VisitorsByEmail(ctx context.Context, siteID, email string) ([]data.Visitor, error) {
	if email == "" {
		return nil, nil
	}
	rows, err := s.read.QueryContext(ctx, `SELECT id FROM visitors WHERE site_id = ? AND email_index = ? ORDER BY created_at, id`,
		siteID, s.blind("email", siteID, email))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: visitors by email: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("sqlstore: visitors by email: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: visitors by email: %w", err)
	}
	out := make([]data.Visitor, 0, len(ids))
	for _, id := range ids {
		v, err := s.GetVisitor(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// personalIndexes returns the blind indexes a visitor's personal fields get:
// only a verified identity is findable.
func (s *Store) personalIndexes(siteID string, p data.Personal) (external, email any) {
	if !p.Verified {
		return nil, nil
	}
	return s.blind("external", siteID, p.ExternalID), s.blind("email", siteID, p.Email)
}

// notFound turns sql.ErrNoRows into data.ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return data.ErrNotFound
	}
	return err
}
