package config

import (
	"fmt"
	"strings"
)

// Problem is one thing wrong with a configuration.
type Problem struct {
	// Key is the dotted key path ("daemon.ipc.max_connections"); empty for a
	// problem with a whole file (a syntax error before any key).
	Key string
	// File is the file the key came from; empty for the embedded defaults
	// of the Go defaults. An environment variable shows as "env NAME".
	File string
	// Line is the 1-based line in File; 0 when unknown.
	Line int
	// Msg says what is wrong.
	Msg string
}

// String formats the problem as "key.path: message (file:line)".
func (p Problem) String() string {
	var b strings.Builder
	if p.Key != "" {
		b.WriteString(p.Key)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	switch {
	case p.File != "" && p.Line > 0:
		fmt.Fprintf(&b, " (%s:%d)", p.File, p.Line)
	case p.File != "":
		fmt.Fprintf(&b, " (%s)", p.File)
	}
	return b.String()
}

// Problems is the error Load returns for a bad configuration: every problem
// found, in a stable order. Use errors.As to get it.
type Problems struct {
	// List holds the problems, at least one.
	List []Problem
}

// Error joins the problems one per line.
func (p *Problems) Error() string {
	lines := make([]string, len(p.List))
	for i, pr := range p.List {
		lines[i] = pr.String()
	}
	return strings.Join(lines, "\n")
}

func (p *Problems) add(pr Problem) { p.List = append(p.List, pr) }

func (p *Problems) err() error {
	if len(p.List) == 0 {
		return nil
	}
	return p
}
