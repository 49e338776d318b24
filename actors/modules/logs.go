package modules

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/types/known/timestamppb"
	"gopkg.in/natefinch/lumberjack.v2"

	"github.com/superbot/superbot/messages"
)

// Log settings of module output.
const (
	ringLines      = 1000     // recent lines kept in memory per module
	maxLineBytes   = 64 << 10 // longer lines are split
	readBufBytes   = 16 << 10 // one read of a module's output
	logMaxSizeMB   = 10       // logs/NAME.log rotates at this size
	logMaxBackups  = 5        // rotated files kept
	defaultTailLen = 100      // logs.tail lines when none are asked for
	logsTopicRoot  = "logs."  // + NAME: every output line
	streamDaemon   = "daemon" // lines the daemon adds (start, exit)
)

// logSink receives one module's output: it appends each line to
// logs/NAME.log (rotated), to a ring of recent lines, and publishes it on
// the bus as logs.NAME. It outlives the module actor's restarts and is safe
// for concurrent use (one pump goroutine per stream).
type logSink struct {
	name  string
	topic string
	file  *lumberjack.Logger // nil without a log dir
	root  *actor.RootContext
	bus   *actor.PID

	mu     sync.Mutex
	closed bool
	ring   []*messages.LogLine // grows to ringLines, then wraps
	head   int                 // the oldest line, once the ring wraps

	pending     []byte // lines not yet written to the file, in order
	flushQueued bool   // the file goroutine will write pending
}

func newLogSink(name, logDir string, root *actor.RootContext, bus *actor.PID) *logSink {
	s := &logSink{name: name, topic: logsTopicRoot + name, root: root, bus: bus}
	if logDir != "" {
		s.file = logFile(filepath.Join(logDir, name+".log"))
	}
	return s
}

// logFiles keeps one lumberjack.Logger per path for the life of the
// process: lumberjack v2.2.1 starts a goroutine per Logger that it never
// ends, so a restarted supervisor reuses (reopens) the same one.
var logFiles sync.Map

func logFile(path string) *lumberjack.Logger {
	l, _ := logFiles.LoadOrStore(path, &lumberjack.Logger{Filename: path, MaxSize: logMaxSizeMB, MaxBackups: logMaxBackups})
	return l.(*lumberjack.Logger)
}

// readBufs are the pumps' read buffers, held only while a pump reads: an
// idle module's pumps wait in the poller without one.
var readBufs = sync.Pool{New: func() any { b := make([]byte, readBufBytes); return &b }}

// pump copies one output stream line by line until EOF, then closes it.
// It runs on its own goroutine. It reads only once the poller has reported
// the pipe readable, draining it into a pooled buffer; the start of a line
// not yet ended waits in part.
func (s *logSink) pump(r *os.File, stream string) {
	defer func() { _ = r.Close() }()
	var (
		part []byte
		eof  bool
		rerr error
	)
	rc, err := r.SyscallConn()
	if err == nil {
		err = rc.Read(func(fd uintptr) bool { // false: wait until readable
			bp := readBufs.Get().(*[]byte)
			defer readBufs.Put(bp)
			for {
				n, err := syscall.Read(int(fd), *bp)
				switch {
				case err == syscall.EINTR:
				case err == syscall.EAGAIN:
					return false
				case err != nil:
					rerr = err
					return true
				case n == 0:
					eof = true
					return true
				default:
					part = s.lines(stream, part, (*bp)[:n])
				}
			}
		})
	}
	if rerr == nil {
		rerr = err
	}
	if len(part) > 0 {
		s.line(stream, string(part))
	}
	if !eof && rerr != nil && !errors.Is(rerr, os.ErrClosed) {
		s.line(streamDaemon, "output error: "+rerr.Error())
	}
}

// lines records each line that chunk ends, and returns what is left: the
// start of the next line (part is that of the current one). A line is cut
// every maxLineBytes.
func (s *logSink) lines(stream string, part, chunk []byte) []byte {
	for len(chunk) > 0 {
		end, next := bytes.IndexByte(chunk, '\n'), 1 // the line's end; what follows it
		if end < 0 {
			end, next = len(chunk), 0
		}
		if room := maxLineBytes - len(part); end > room {
			end, next = room, 0
		} else if next == 0 { // no end yet
			return append(part, chunk...)
		}
		if len(part) == 0 {
			s.line(stream, string(chunk[:end]))
		} else {
			s.line(stream, string(append(part, chunk[:end]...)))
		}
		part, chunk = part[:0], chunk[end+next:]
	}
	if cap(part) > readBufBytes {
		return nil // a long line's buffer is not kept
	}
	return part
}

// line records one line from a module's output (on a pump goroutine).
func (s *logSink) line(stream, text string) {
	s.record(stream, text, false)
}

// note records a line the daemon adds (from the module actor): the file
// write goes through the file goroutine.
func (s *logSink) note(text string) {
	s.record(streamDaemon, text, true)
}

// record adds one line to the ring, the file and the bus, all three in
// the order of the calls: under s.mu, a line joins s.pending (the lines not
// yet in the file, written in order by whichever comes first: a pump's
// line, at once, or the file goroutine, for a line the daemon adds) and is
// sent to the bus.
func (s *logSink) record(stream, text string, async bool) {
	if n := len(text); n > 0 && text[n-1] == '\r' {
		text = text[:n-1]
	}
	l := &messages.LogLine{Module: s.name, Stream: stream, Line: text, Time: timestamppb.New(time.Now())}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.ring) < ringLines {
		s.ring = append(s.ring, l)
	} else {
		s.ring[s.head] = l
		s.head = (s.head + 1) % len(s.ring)
	}
	if s.file != nil && !s.closed {
		s.pending = append(append(s.pending, text...), '\n')
		switch {
		case !async:
			s.flushLocked()
		case !s.flushQueued:
			s.flushQueued = fileIO(s.flush) // a full queue: the next line tries again
		}
	}
	if s.bus != nil {
		s.root.Send(s.bus, messages.NewEvent(s.topic, s.name, l))
	}
}

// flush writes the pending lines (on the file goroutine).
func (s *logSink) flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flushQueued = false
	s.flushLocked()
}

func (s *logSink) flushLocked() {
	if len(s.pending) == 0 || s.closed {
		return
	}
	_, _ = s.file.Write(s.pending)
	if cap(s.pending) > readBufBytes {
		s.pending = nil // a burst's buffer is not kept
	} else {
		s.pending = s.pending[:0]
	}
}

// tail returns the last n lines, oldest first.
func (s *logSink) tail(n int) []*messages.LogLine {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n <= 0 {
		n = defaultTailLen
	}
	if n > len(s.ring) {
		n = len(s.ring)
	}
	out := make([]*messages.LogLine, n)
	for i := range n {
		out[i] = s.ring[(s.head+len(s.ring)-n+i)%len(s.ring)]
	}
	return out
}

// close closes the log file; later lines only reach the ring and the bus.
func (s *logSink) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.file != nil {
		s.flushLocked()
	}
	s.closed = true
	if s.file != nil {
		_ = s.file.Close()
	}
}
