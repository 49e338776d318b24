package modules

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

// helperDir holds the helper program, built once for the package.
var (
	helperOnce sync.Once
	helperPath string
	helperErr  error
	helperDir  string
)

func TestMain(m *testing.M) {
	if os.Getenv(daemonModeEnv) != "" {
		runDaemonMode() // the parent-death test's stand-in daemon
		return
	}
	if os.Getenv(rssModeEnv) != "" {
		runRSSMode() // the RSS figure's stand-in daemon
		return
	}
	code := func() int {
		defer func() {
			if helperDir != "" {
				os.RemoveAll(helperDir)
			}
		}()
		return m.Run()
	}()
	if code == 0 {
		if err := goleak.Find(
			goleak.IgnoreTopFunction("github.com/superbot/superbot/actors/modules.forkLoop"), // the fork thread lives as long as the process
			goleak.IgnoreTopFunction("github.com/superbot/superbot/actors/modules.fileLoop"), // the file goroutine too
			// lumberjack v2.2.1 never ends its per-Logger mill goroutine (one per log path, see logFile).
			goleak.IgnoreTopFunction("gopkg.in/natefinch/lumberjack%2ev2.(*Logger).millRun"),
		); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// helper returns the path of the helper program, building it on first use.
func helper(t testing.TB) string {
	t.Helper()
	helperOnce.Do(func() {
		helperDir, helperErr = os.MkdirTemp("", "modules-helper-")
		if helperErr != nil {
			return
		}
		helperPath = filepath.Join(helperDir, "helper")
		out, err := exec.Command("go", "build", "-o", helperPath, "./testdata/helper").CombinedOutput()
		if err != nil {
			helperErr = fmt.Errorf("go build helper: %w\n%s", err, out)
		}
	})
	if helperErr != nil {
		t.Fatal(helperErr)
	}
	return helperPath
}
