package api

import (
	"net/http"
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
	if !s.audited(c, data.AuditKeys, "", "site:"+c.Param("key")) {
		return
	}
	k, err := identity.AddKey(c.Request.Context(), s.records, c.Param("key"), time.Now())
	if err != nil {
		writeError(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, newIdentityKeyView{identityKeyView: identityKeyView{ID: k.ID, CreatedAt: k.CreatedAt}, Secret: string(k.Secret), Alg: "HS256"})
}

func (s *Server) removeIdentityKey(c *gin.Context) {
	if !s.audited(c, data.AuditKeys, "", "site:"+c.Param("key")+" kid:"+c.Param("kid")) {
		return
	}
	if err := identity.RemoveKey(c.Request.Context(), s.records, c.Param("key"), c.Param("kid")); err != nil {
		writeError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
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
