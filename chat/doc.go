// Package chat is the one message path: it stores every message (visitor,
// bot, agent, system) through data.Store, publishes the committed event on the
// broker, and runs bot turns for conversations in bot status on a bounded,
// per-conversation-ordered worker pool.
//
// It may import bot, handoff, data and data/pubsub; it knows nothing about
// sockets or HTTP.
package chat
