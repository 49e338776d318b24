package client

import (
	"os"
	"path/filepath"
)

// Environment variables that say where the daemon is. superbotd sets both
// in every module's environment.
const (
	// SocketEnv holds the daemon's socket path.
	SocketEnv = "SUPERBOT_SOCKET"
	// TokenPathEnv holds the path of the daemon's token file.
	TokenPathEnv = "SUPERBOT_TOKEN_PATH"
)

// Where a Location was found (Location.Source).
const (
	SourceSocketOption   = "--socket"
	SourceStateDirOption = "--state-dir"
	SourceSocketEnv      = "$" + SocketEnv
	SourceNearest        = "nearest .superbot/ above the working directory"
	SourceHome           = "default ~/.superbot"
)

// Location is where Dial looks for the daemon's socket and token file.
type Location struct {
	// Socket is the Unix socket path.
	Socket string
	// StateDir is the state directory whose "token" file holds the token
	// (the socket's directory when only a socket was given).
	StateDir string
	// TokenFile is the file ResolveToken reads: $SUPERBOT_TOKEN_PATH when
	// set and neither Socket nor StateDir was given, else
	// "<StateDir>/token".
	TokenFile string
	// Source says how it was found: one of the Source constants.
	Source string
	// Searched is set when nothing was found and Socket is the default
	// ~/.superbot/superbot.sock: the directory the search started from.
	Searched string
}

// Locate finds the daemon the way Dial does, first match wins:
//
//  1. Options.Socket (the CLI's --socket);
//  2. Options.StateDir (the CLI's --state-dir): "<StateDir>/superbot.sock";
//  3. $SUPERBOT_SOCKET (set in every module's environment);
//  4. the nearest directory named .superbot in the working directory or
//     above it, up to / (the daemon's default state_dir is ".superbot" in
//     the directory it was started from);
//  5. ~/.superbot, the state directory of a daemon started from the home
//     directory.
//
// Only the existence of the .superbot directory is checked, not that a
// daemon listens in it. It does not look at Options.Addr.
func (o Options) Locate() Location {
	loc := o.locate()
	loc.TokenFile = filepath.Join(loc.StateDir, TokenName)
	if p := os.Getenv(TokenPathEnv); p != "" && o.Socket == "" && o.StateDir == "" {
		loc.TokenFile = p
	}
	return loc
}

func (o Options) locate() Location {
	switch {
	case o.Socket != "":
		return Location{Socket: o.Socket, StateDir: orDir(o.StateDir, o.Socket), Source: SourceSocketOption}
	case o.StateDir != "":
		return Location{Socket: filepath.Join(o.StateDir, SocketName), StateDir: o.StateDir, Source: SourceStateDirOption}
	}
	if s := os.Getenv(SocketEnv); s != "" {
		return Location{Socket: s, StateDir: filepath.Dir(s), Source: SourceSocketEnv}
	}
	wd, err := os.Getwd()
	if err == nil {
		for dir := wd; ; dir = filepath.Dir(dir) {
			sd := filepath.Join(dir, DefaultStateDir)
			if fi, err := os.Stat(sd); err == nil && fi.IsDir() {
				return Location{Socket: filepath.Join(sd, SocketName), StateDir: sd, Source: SourceNearest}
			}
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	sd := DefaultStateDir
	if home, err := os.UserHomeDir(); err == nil {
		sd = filepath.Join(home, DefaultStateDir)
	}
	return Location{Socket: filepath.Join(sd, SocketName), StateDir: sd, Source: SourceHome, Searched: wd}
}

// orDir returns dir, else the directory of path.
func orDir(dir, path string) string {
	if dir != "" {
		return dir
	}
	return filepath.Dir(path)
}

// dialPath returns a path for the socket that fits in sun_path (108 bytes
// on Linux): the path itself, or, when it is longer, the same path relative
// to the working directory if that is short enough.
func dialPath(path string) string {
	const maxSunPath = 107
	if len(path) <= maxSunPath || !filepath.IsAbs(path) {
		return path
	}
	wd, err := os.Getwd()
	if err != nil {
		return path
	}
	if rel, err := filepath.Rel(wd, path); err == nil && len(rel) < len(path) {
		return rel
	}
	return path
}
