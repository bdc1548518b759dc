// Package frontend holds the web pages: the agent's dialogs (dist/, which
// Wails embeds from the repository's root package) and the console's
// pages (console/), which the console server serves with dist/'s element
// builder.
package frontend

import "embed"

// Console is the console's pages and what they share with the dialogs.
//
//go:embed dist/dom.js console/index.html console/app.js console/style.css
var Console embed.FS
