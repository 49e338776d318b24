package edge

import (
	"errors"
	"io"
	"net"
	"runtime"
	"sync/atomic"
	"syscall"
)

// pollReader reads a client connection. Before it blocks for the next
// request it polls the socket a bounded number of times (non-blocking
// reads, yielding to other goroutines between them). A client calling in a
// loop sends its next request within tens of microseconds of its answer; a
// poll that finds it saves the daemon's side of the round trip two wake-ups
// (its thread's, and on a VM its halted vCPU's), which cost more than the
// call itself. At most maxPollers connections poll at once, so polling only
// uses a CPU that would otherwise idle; an idle connection polls once after
// its last answer and then sleeps.
type pollReader struct {
	nc      net.Conn
	rc      syscall.RawConn // nil: the connection cannot be polled
	reads   int             // polls before blocking; 0 disables
	pollers *atomic.Int32   // connections polling now, across the server
}

// maxPollers is how many connections may poll at once: one CPU's worth,
// leaving the others to the daemon's work.
func maxPollers() int32 { return int32(max(1, runtime.GOMAXPROCS(0)-1)) }

func newPollReader(nc net.Conn, reads int, pollers *atomic.Int32) *pollReader {
	p := &pollReader{nc: nc, reads: reads, pollers: pollers}
	if sc, ok := nc.(syscall.Conn); ok && reads > 0 {
		if rc, err := sc.SyscallConn(); err == nil {
			p.rc = rc
		}
	}
	return p
}

func (p *pollReader) Read(b []byte) (int, error) {
	if p.rc != nil && len(b) > 0 {
		if p.pollers.Add(1) <= maxPollers() {
			n, err, done := p.poll(b)
			p.pollers.Add(-1)
			if done {
				return n, err
			}
		} else {
			p.pollers.Add(-1)
		}
	}
	return p.nc.Read(b)
}

// poll tries up to p.reads non-blocking reads. done is false when nothing
// arrived: the caller then blocks in the connection's Read (deadlines
// apply there).
func (p *pollReader) poll(b []byte) (n int, err error, done bool) {
	for i := 0; i < p.reads; i++ {
		var rerr error
		if cerr := p.rc.Read(func(fd uintptr) bool {
			n, rerr = syscall.Read(int(fd), b)
			return true // one attempt: never park in the poller here
		}); cerr != nil {
			return 0, cerr, true // closed
		}
		switch {
		case rerr == nil && n > 0:
			return n, nil, true
		case rerr == nil:
			return 0, io.EOF, true
		case errors.Is(rerr, syscall.EINTR):
			continue
		case !errors.Is(rerr, syscall.EAGAIN):
			return 0, rerr, true
		}
		runtime.Gosched()
	}
	return 0, nil, false
}
