package store

import (
	"fmt"
	"os"
	"strconv"
	"testing"

	"go.uber.org/goleak"
)

// writerChildEnv makes the test binary a writer process for
// TestWritersInTwoProcesses: "DIR,PARITY" writes every other minute.
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
	var dir string
	var parity int
	for i := len(arg) - 1; i >= 0; i-- {
		if arg[i] == ',' {
			dir = arg[:i]
			p, err := strconv.Atoi(arg[i+1:])
			if err != nil {
				return err
			}
			parity = p
			break
		}
	}
	s, err := Open(dir)
	if err != nil {
		return err
	}
	return writeInterleaved(s, parity)
}
