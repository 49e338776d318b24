// Package logging builds the daemon's slog logger: a compact console format
// (or JSON), an optional size-rotated file that gets the same records, a
// level that can change at runtime, and a logger factory that routes
// protoactor's own logs into the same handler.
package logging

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"gopkg.in/natefinch/lumberjack.v2"
)

// Format is a log line format.
type Format string

// The log formats.
const (
	// FormatConsole is the compact one-line format of ConsoleHandler.
	FormatConsole Format = "console"
	// FormatJSON is slog's JSON format, one object per line.
	FormatJSON Format = "json"
)

// Options configures New. The zero value logs nothing (no console, no file).
type Options struct {
	// Level is the lowest level logged; nil means info. Pass a
	// *slog.LevelVar to change the level at runtime (on reload).
	Level slog.Leveler
	// Format is FormatConsole (the default when empty) or FormatJSON.
	Format Format
	// Console receives the log (usually os.Stderr); nil for none.
	Console io.Writer
	// File is the log file path; empty for none. Its directory is created
	// (0700) and the file is rotated by size, keeping MaxBackups old files.
	File string
	// MaxSizeMB is the size in megabytes at which File rotates; 0 means 10.
	MaxSizeMB int
	// MaxBackups is how many rotated files to keep; 0 keeps them all.
	MaxBackups int
}

// ParseLevel maps "debug", "info", "warn" and "error" (the config values) to
// a slog level.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info", "":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("parse log level %q: want debug, info, warn or error", s)
}

// New returns a logger writing every record to the console and the file
// alike, and a Closer that closes the file (call it last, on shutdown).
func New(opts Options) (*slog.Logger, io.Closer, error) {
	level := opts.Level
	if level == nil {
		level = slog.LevelInfo
	}
	var writers []io.Writer
	if opts.Console != nil {
		writers = append(writers, opts.Console)
	}
	var closer io.Closer = nopCloser{}
	if opts.File != "" {
		if err := os.MkdirAll(filepath.Dir(opts.File), 0o700); err != nil {
			return nil, nil, fmt.Errorf("create log dir: %w", err)
		}
		size := opts.MaxSizeMB
		if size <= 0 {
			size = 10
		}
		lj := &lumberjack.Logger{Filename: opts.File, MaxSize: size, MaxBackups: opts.MaxBackups}
		// Open now so that a bad path is a startup error, not a lost record.
		if _, err := lj.Write(nil); err != nil {
			return nil, nil, fmt.Errorf("open log file: %w", err)
		}
		writers = append(writers, lj)
		closer = lj
	}
	var w io.Writer
	switch len(writers) {
	case 0:
		w = io.Discard
	case 1:
		w = writers[0]
	default:
		w = &teeWriter{ws: writers}
	}
	var h slog.Handler
	switch opts.Format {
	case FormatConsole, "":
		h = NewConsoleHandler(w, level)
	case FormatJSON:
		h = slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})
	default:
		return nil, nil, fmt.Errorf("log format %q: want console or json", opts.Format)
	}
	return slog.New(h), closer, nil
}

// teeWriter writes each record to every writer, even when one fails, so the
// file keeps the record when the console is gone. Handlers serialise writes.
type teeWriter struct {
	mu sync.Mutex
	ws []io.Writer
}

func (t *teeWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var errs []error
	for _, w := range t.ws {
		if _, err := w.Write(p); err != nil {
			errs = append(errs, err)
		}
	}
	return len(p), errors.Join(errs...)
}

type nopCloser struct{}

func (nopCloser) Close() error { return nil }
