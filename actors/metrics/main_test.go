package metrics_test

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/superbot/superbot/actors/modules.forkLoop"), // the fork thread lives as long as the process
		goleak.IgnoreTopFunction("github.com/superbot/superbot/actors/modules.fileLoop"), // the file goroutine too
	)
}
