package api

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/frontdesk/frontdesk/data"
	"github.com/frontdesk/frontdesk/identity"
)

// identityKeyView is an identity key as listed: never its secret.
type identityKeyView struct {
	ID        string    `json:"kid"`
	CreatedAt time.Time `json:"created_at"`
}

// newIdentityKeyView is a key just created: its secret is shown this once.
type newIdentityKeyView struct {
	identityKeyView
	Secret string `json:"secret"`
	Alg    string `json:"alg"`
}

func (s *Server) listIdentityKeys(c *gin.Context) {
	keys, err := identity.ListKeys(c.Request.Context(), s.records, c.Param("key"))
	if err != nil {
		writeError(c, err)
		return
	}
	out := make([]identityKeyView, len(keys))
	for i, k := range keys {
		out[i] = identityKeyView{ID: k.ID, CreatedAt: k.CreatedAt}
	}
	c.JSON(http.StatusOK, gin.H{"keys": out})
}

func (s *Server) addIdentityKey(c *gin.Context) {
	site, ok := s.identityKeyChange(c, "")
	if !ok {
		return
	}
	k, err := identity.AddKey(c.Request.Context(), s.records, site.Key, time.Now())
	if err != nil {
		writeError(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, newIdentityKeyView{identityKeyView: identityKeyView{ID: k.ID, CreatedAt: k.CreatedAt}, Secret: string(k.Secret), Alg: "HS256"})
}

func (s *Server) removeIdentityKey(c *gin.Context) {
	site, ok := s.identityKeyChange(c, c.Param("kid"))
	if !ok {
		return
	}
	if err := identity.RemoveKey(c.Request.Context(), s.records, site.Key, c.Param("kid")); err != nil {
		writeError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// identityKeyChange checks that the site (and the key kid, when given)
// exists, then audits the change about to be made; so the audit log holds
// no changes that were refused as not found.
func (s *Server) identityKeyChange(c *gin.Context, kid string) (data.Site, bool) {
	site, err := s.records.SiteByKey(c.Request.Context(), c.Param("key"))
	if err != nil {
		writeError(c, err)
		return data.Site{}, false
	}
	target := "site:" + site.Key
	if kid != "" {
		if !slices.ContainsFunc(site.IdentityKeys, func(k data.IdentityKey) bool { return k.ID == kid }) {
			writeError(c, fmt.Errorf("api: identity key %q: %w", kid, data.ErrNotFound))
			return data.Site{}, false
		}
		target += " kid:" + kid
	}
	return site, s.audited(c, data.AuditKeys, site.ID, target)
}

// identityHTTPError renders a failed identity verification as 401 (403 when
// the site requires verification) with the verification's own code.
func identityHTTPError(err error) *Error {
	status := http.StatusUnauthorized
	if identity.Code(err) == "identity_required" {
		status = http.StatusForbidden
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, "identity: "); i >= 0 {
		msg = msg[i+len("identity: "):]
	}
	return &Error{Status: status, Code: identity.Code(err), Message: msg}
}
