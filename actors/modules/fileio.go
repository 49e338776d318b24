package modules

import (
	"sync"
	"sync/atomic"
)

// fileQueueLen bounds the file operations waiting for the file goroutine.
const fileQueueLen = 4096

// fileQueue runs operations on one goroutine, in submission order. Submit
// never blocks: a full queue drops the operation and counts it.
type fileQueue struct {
	once    sync.Once
	size    int
	ch      chan func()
	dropped atomic.Uint64
}

// files is the module actors' file queue: PID files and the daemon's lines
// in NAME.log go through it so that no mailbox waits on the disk.
var files = &fileQueue{size: fileQueueLen}

// fileIO submits op to files; see fileQueue.submit.
func fileIO(op func()) bool { return files.submit(op) }

// submit queues op for the file goroutine and reports whether it was
// queued. With size operations already waiting it returns false at once
// (the operation is dropped and counted): a mailbox never waits on a slow
// disk. Safe for concurrent use.
func (q *fileQueue) submit(op func()) bool {
	q.once.Do(func() {
		q.ch = make(chan func(), q.size)
		go fileLoop(q.ch)
	})
	select {
	case q.ch <- op:
		return true
	default:
		q.dropped.Add(1)
		return false
	}
}

// fileLoop is a file goroutine; it lives as long as the process.
func fileLoop(ch <-chan func()) {
	for op := range ch {
		op()
	}
}
