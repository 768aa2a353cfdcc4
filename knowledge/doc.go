// Package knowledge loads FAQ articles, indexes them and finds the entry that
// best answers a visitor's question, with a confidence the bot can act on.
//
// It is a leaf package: it imports only the standard library and third-party
// libraries (Bleve), never other Frontdesk packages. It returns errors and does
// not log. No Bleve type appears in its exported API.
package knowledge
