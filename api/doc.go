// Package api is Frontdesk's HTTP surface: every route (listed in Routes),
// visitor sessions and their tokens, JSON errors mapped from domain errors in
// one place, security headers, and the embedded web pages; api/realtime holds
// the WebSocket side.
//
// It may import chat, bot, handoff, data, api/realtime, api/web and gin.
package api
