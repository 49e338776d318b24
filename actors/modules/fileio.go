package modules

import "sync"

// fileQueueLen bounds the file operations waiting for the file goroutine.
const fileQueueLen = 4096

var (
	fileOnce sync.Once
	fileCh   chan func()
)

// fileIO runs op on the file goroutine, in submission order: module actors
// hand it their file writes (PID files, the daemon's lines in NAME.log) so
// that no mailbox waits on the disk. It blocks only when fileQueueLen
// operations are already waiting.
func fileIO(op func()) {
	fileOnce.Do(func() {
		fileCh = make(chan func(), fileQueueLen)
		go fileLoop(fileCh)
	})
	fileCh <- op
}

// fileLoop is the file goroutine; it lives as long as the process.
func fileLoop(ch <-chan func()) {
	for op := range ch {
		op()
	}
}
