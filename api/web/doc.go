// Package web embeds the browser side of Frontdesk: the demo company page,
// the visitor widget (widget.js) and the agent console, served by package api.
// The files under static/ are plain, hand-written HTML, CSS and JavaScript: no
// build step, no third-party requests.
//
// It imports only the standard library.
package web
