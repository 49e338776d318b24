package journal

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain runs the crash test's child when asked to, and checks that no
// test leaks a goroutine (a writer or a database/sql opener left running).
func TestMain(m *testing.M) {
	if path := os.Getenv(crashChildEnv); path != "" {
		os.Exit(runCrashChild(path, os.Getenv(crashChildEnv+"_PREFIX")))
	}
	goleak.VerifyTestMain(m)
}
