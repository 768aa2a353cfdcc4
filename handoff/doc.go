// Package handoff is everything after the bot gives up: skill groups and
// their queues, routing and assignment, agent presence and capacity,
// transfers, business hours, the overflow and wait-limit timers, tickets with
// e-mail notification through the outbox, and agent accounts and sessions.
//
// It may import data and data/pubsub; it never imports bot, chat or api, and
// knows nothing about HTTP or sockets.
package handoff
