package config

import (
	"errors"
	"fmt"
	"io"
)

// Check loads the configuration at path (as Load does) for `superbotd -t`:
// it writes "config OK (source)" and returns 0, or writes every problem, one
// per line, and returns 1.
func Check(path string, w io.Writer) int {
	cfg, err := Load(path)
	if err == nil {
		fmt.Fprintf(w, "config OK (%s)\n", cfg.Source())
		return 0
	}
	var probs *Problems
	if !errors.As(err, &probs) {
		fmt.Fprintf(w, "config: %v\n", err)
		return 1
	}
	for _, p := range probs.List {
		fmt.Fprintln(w, p)
	}
	noun := "problems"
	if len(probs.List) == 1 {
		noun = "problem"
	}
	fmt.Fprintf(w, "config: %d %s\n", len(probs.List), noun)
	return 1
}
