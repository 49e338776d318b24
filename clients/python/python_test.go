// Package python_test runs the Python client's and the Python example
// strategy's unit tests with /usr/bin/python3 (standard library only).
package python_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

const python = "/usr/bin/python3"

// TestPythonUnitTests runs clients/python's and examples/python_strategy's
// unittest suites. Without /usr/bin/python3 it skips, except under CI=true.
func TestPythonUnitTests(t *testing.T) {
	if _, err := os.Stat(python); err != nil {
		msg := python + " is missing: apt-get install -y python3"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	for name, args := range map[string][]string{
		"client":   {"-m", "unittest", "discover", "-s", "clients/python", "-v"},
		"strategy": {"-m", "unittest", "-v", "examples.python_strategy.test_strategy"},
	} {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(python, args...)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%s %v: %v\n%s", python, args, err, out)
			}
			t.Logf("%s", out)
		})
	}
}
