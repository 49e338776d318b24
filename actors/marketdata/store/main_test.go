package store

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

// writerChildEnv makes the test binary a writer process: "DIR,PARITY"
// writes every other minute (TestWritersInTwoProcesses), "DIR,forever"
// writes pages until killed (TestKilledWriterLeavesWholeFiles).
const writerChildEnv = "SUPERBOT_STORE_WRITER_CHILD"

// TestMain runs the writer child when asked to, and checks that no test
// leaks a goroutine.
func TestMain(m *testing.M) {
	if arg := os.Getenv(writerChildEnv); arg != "" {
		if err := runWriterChild(arg); err != nil {
			fmt.Fprintln(os.Stderr, "error:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

func runWriterChild(arg string) error {
	i := strings.LastIndexByte(arg, ',')
	if i < 0 {
		return fmt.Errorf("%s: want DIR,PARITY or DIR,forever", writerChildEnv)
	}
	s, err := Open(arg[:i])
	if err != nil {
		return err
	}
	if arg[i+1:] == "forever" {
		return writePagesForever(s)
	}
	parity, err := strconv.Atoi(arg[i+1:])
	if err != nil {
		return err
	}
	return writeInterleaved(s, parity)
}
