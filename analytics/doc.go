// Package analytics computes support reports from the store: volumes, bot
// containment and handoff rates, human first-response, resolution and queue
// times, satisfaction, tickets and proactive invitations, per skill group;
// and the knowledge gaps (questions the bot could not answer), clustered.
//
// It computes in Go from the store's records, so every backend gives the
// same answers. It may import data and the standard library.
package analytics
