// Package handoff will own skill groups, queues, routing, agent presence and
// capacity, assignment, transfer, SLA timers and tickets. It may import data
// and data/pubsub; it never imports bot.
package handoff
