package datatest

import (
	"errors"
	"testing"
	"time"

	"github.com/frontdesk/frontdesk/data"
)

// privacyTests are the cases of identity keys, blind indexes, export,
// erasure, retention and the audit log.
func privacyTests() []struct {
	name string
	fn   func(t *testing.T, s data.Store)
} {
	return []struct {
		name string
		fn   func(t *testing.T, s data.Store)
	}{
		{"IdentityKeys", testIdentityKeys},
		{"VisitorByVerifiedIdentity", testVisitorByIdentity},
	}
}

func testIdentityKeys(t *testing.T, s data.Store) {
	c := ctx(t)
	site, _, _ := fixture(t, s)
	if len(site.IdentityKeys) != 0 {
		t.Fatalf("new site has keys %v", site.IdentityKeys)
	}
	keys := []data.IdentityKey{
		{ID: "k1", Secret: []byte("0123456789abcdef0123456789abcdef"), CreatedAt: time.UnixMilli(1000).UTC()},
		{ID: "k2", Secret: []byte("fedcba9876543210fedcba9876543210"), CreatedAt: time.UnixMilli(2000).UTC()},
	}
	if err := s.SetIdentityKeys(c, site.ID, keys); err != nil {
		t.Fatalf("SetIdentityKeys: %v", err)
	}
	got, err := s.SiteByKey(c, site.Key)
	if err != nil || len(got.IdentityKeys) != 2 || got.IdentityKeys[1].ID != "k2" || string(got.IdentityKeys[0].Secret) != string(keys[0].Secret) || !got.IdentityKeys[1].CreatedAt.Equal(keys[1].CreatedAt) {
		t.Fatalf("SiteByKey after SetIdentityKeys = %+v, %v; want the two keys", got.IdentityKeys, err)
	}
	// Settings updates leave the keys alone.
	if _, err := s.UpdateSiteSettings(c, site.ID, data.SiteSettings{Identity: data.IdentitySettings{Required: true}}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.GetSite(c, site.ID)
	if len(got.IdentityKeys) != 2 || !got.Settings.Identity.Required {
		t.Errorf("after UpdateSiteSettings: keys %d, required %v; want 2, true", len(got.IdentityKeys), got.Settings.Identity.Required)
	}
	if err := s.SetIdentityKeys(c, site.ID, []data.IdentityKey{{ID: "short", Secret: []byte("x")}}); !errors.Is(err, data.ErrInvalid) {
		t.Errorf("SetIdentityKeys(short secret) = %v, want ErrInvalid", err)
	}
	if err := s.SetIdentityKeys(c, "s_missing", keys); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("SetIdentityKeys(unknown site) = %v, want ErrNotFound", err)
	}
}

func testVisitorByIdentity(t *testing.T, s data.Store) {
	c := ctx(t)
	site, v, _ := fixture(t, s)
	other, _, _ := fixture(t, s)
	if _, err := s.VisitorByExternalID(c, site.ID, "u-1"); !errors.Is(err, data.ErrNotFound) {
		t.Fatalf("VisitorByExternalID before identify = %v, want ErrNotFound", err)
	}
	// An unverified claim is not findable: nobody gets a visitor by typing an id.
	if err := s.UpdateVisitorPersonal(c, v.ID, data.Personal{ExternalID: "u-1", Email: "A@Example.com"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.VisitorByExternalID(c, site.ID, "u-1"); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("VisitorByExternalID of an unverified identity = %v, want ErrNotFound", err)
	}
	if err := s.UpdateVisitorPersonal(c, v.ID, data.Personal{Verified: true, ExternalID: "u-1", Email: "A@Example.com"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.VisitorByExternalID(c, site.ID, "u-1")
	if err != nil || got.ID != v.ID || !got.Personal.Verified {
		t.Errorf("VisitorByExternalID = %+v, %v; want visitor %s verified", got, err, v.ID)
	}
	if _, err := s.VisitorByExternalID(c, other.ID, "u-1"); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("VisitorByExternalID on another site = %v, want ErrNotFound", err)
	}
	vs, err := s.VisitorsByEmail(c, site.ID, " a@example.COM ")
	if err != nil || len(vs) != 1 || vs[0].ID != v.ID {
		t.Errorf("VisitorsByEmail (case and spaces differ) = %+v, %v; want [%s]", vs, err, v.ID)
	}
	v2 := data.Visitor{ID: data.NewID("v_"), SiteID: site.ID, Personal: data.Personal{Verified: true, ExternalID: "u-2", Email: "a@example.com"}}
	if err := s.CreateVisitor(c, v2); err != nil {
		t.Fatal(err)
	}
	if vs, _ := s.VisitorsByEmail(c, site.ID, "a@example.com"); len(vs) != 2 {
		t.Errorf("VisitorsByEmail after a second visitor = %d visitors, want 2", len(vs))
	}
	if got, err := s.VisitorByExternalID(c, site.ID, "u-2"); err != nil || got.ID != v2.ID {
		t.Errorf("VisitorByExternalID(u-2) = %+v, %v; want %s", got, err, v2.ID)
	}
}
