package identity

import (
	"context"
	"fmt"
	"time"

	"github.com/frontdesk/frontdesk/data"
)

// KeyStore is what key management needs from the store.
type KeyStore interface {
	SiteByKey(ctx context.Context, key string) (data.Site, error)
	SetIdentityKeys(ctx context.Context, siteID string, keys []data.IdentityKey) error
}

// ListKeys returns a site's identity keys (with secrets: callers render only kid and date).
func ListKeys(ctx context.Context, st KeyStore, siteKey string) ([]data.IdentityKey, error) {
	site, err := st.SiteByKey(ctx, siteKey)
	if err != nil {
		return nil, fmt.Errorf("identity: keys of %q: %w", siteKey, err)
	}
	return site.IdentityKeys, nil
}

// AddKey creates a new identity key for a site and returns it with its
// secret. The older keys stay valid, so a rotation is: add, deploy the new
// key on the site's server, remove the old one.
func AddKey(ctx context.Context, st KeyStore, siteKey string, now time.Time) (data.IdentityKey, error) {
	site, err := st.SiteByKey(ctx, siteKey)
	if err != nil {
		return data.IdentityKey{}, fmt.Errorf("identity: add key to %q: %w", siteKey, err)
	}
	if len(site.IdentityKeys) >= MaxKeys {
		return data.IdentityKey{}, fmt.Errorf("identity: site %q has %d keys already; remove one first: %w", siteKey, MaxKeys, data.ErrConflict)
	}
	k, err := NewKey(now)
	if err != nil {
		return data.IdentityKey{}, err
	}
	if err := st.SetIdentityKeys(ctx, site.ID, append(site.IdentityKeys, k)); err != nil {
		return data.IdentityKey{}, fmt.Errorf("identity: add key to %q: %w", siteKey, err)
	}
	return k, nil
}

// RemoveKey deletes a site's identity key; tokens signed with it stop verifying.
func RemoveKey(ctx context.Context, st KeyStore, siteKey, kid string) error {
	site, err := st.SiteByKey(ctx, siteKey)
	if err != nil {
		return fmt.Errorf("identity: remove key from %q: %w", siteKey, err)
	}
	keep := make([]data.IdentityKey, 0, len(site.IdentityKeys))
	for _, k := range site.IdentityKeys {
		if k.ID != kid {
			keep = append(keep, k)
		}
	}
	if len(keep) == len(site.IdentityKeys) {
		return fmt.Errorf("identity: site %q has no key %q: %w", siteKey, kid, data.ErrNotFound)
	}
	if err := st.SetIdentityKeys(ctx, site.ID, keep); err != nil {
		return fmt.Errorf("identity: remove key from %q: %w", siteKey, err)
	}
	return nil
}
