// Package ui holds the web UI's static files (plain HTML, CSS and JavaScript
// modules written by the team, no build step, no third-party code), embedded
// into the daemon. The webui module serves them.
package ui

import (
	"embed"
	"io/fs"
)

//go:embed static
var files embed.FS

// FS returns the UI's files rooted at static/: index.html (the app),
// login.html (the login form, served without a session) and the scripts and
// styles they load.
func FS() fs.FS {
	sub, err := fs.Sub(files, "static")
	if err != nil {
		panic(err) // "static" is embedded above: cannot fail
	}
	return sub
}
