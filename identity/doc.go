// Package identity verifies the identity tokens a site's own server signs
// for its signed-in customers (HS256 JWTs with a key id), so the widget can
// tell Frontdesk who the visitor is in a way a visitor cannot forge.
//
// It imports only the standard library and package data.
package identity
