package realtime

import (
	"strings"

	"github.com/frontdesk/frontdesk/identity"
)

// IdentifiedFrame confirms an identify frame; Verified says whether the
// identity came with a valid site-signed token.
type IdentifiedFrame struct {
	Type     string `json:"type"`
	Verified bool   `json:"verified"`
}

// identityError turns an error of an identify frame into an error frame:
// identity verification failures get their own codes (docs/protocol.md).
func identityError(err error) ErrorFrame {
	if code := identity.Code(err); code != "" {
		msg := err.Error()
		if i := strings.LastIndex(msg, "identity: "); i >= 0 {
			msg = msg[i+len("identity: "):]
		}
		return ErrorFrame{Type: "error", Code: code, Message: msg}
	}
	return domainError(err)
}
