// Package bot is the conversation engine: one visitor turn in, one decision
// out (answer, clarify, hand off, small talk), with the evidence behind it.
//
// It may import intents, knowledge and the standard library; it knows nothing
// about sockets, HTTP or storage.
package bot
