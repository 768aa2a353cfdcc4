// Package webhooks sends a site's events (conversation.created,
// conversation.handed_off, conversation.closed, message.created,
// ticket.created, rating.submitted) to the URLs its admins configured, as
// JSON signed with HMAC-SHA256, through the outbox (retries with back-off,
// a delivery log). A store wrapper observes the writes that make events, so
// no domain package depends on webhooks.
//
// It may import data and the standard library.
package webhooks
