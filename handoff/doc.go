// Package handoff is everything after the bot gives up: skill groups and
// their queues, routing and assignment, agent presence and capacity,
// transfers, business hours, the overflow and wait-limit timers, tickets with
// e-mail notification through the outbox, and agent accounts and sessions.
//
// Presence, and the Avoidance that keeps a transferred conversation from
// its former agent, are in memory on one node (MemoryPresence,
// MemoryAvoidance) or shared by several nodes through Redis with TTL keys
// (RedisPresence and its Avoidance); for those, and only for those, handoff
// imports the go-redis client.
//
// It may import data, data/pubsub, mask (to mask tickets for the agent view)
// and go-redis; it never imports bot, chat
// or api, and knows nothing about HTTP or sockets.
package handoff
