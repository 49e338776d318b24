package modules

import (
	"bufio"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
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
	ring   []*messages.LogLine
	head   int
	n      int
}

func newLogSink(name, logDir string, root *actor.RootContext, bus *actor.PID) *logSink {
	s := &logSink{name: name, topic: logsTopicRoot + name, root: root, bus: bus, ring: make([]*messages.LogLine, ringLines)}
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

// pump copies one output stream line by line until EOF, then closes it.
// It runs on its own goroutine.
func (s *logSink) pump(r *os.File, stream string) {
	defer func() { _ = r.Close() }()
	br := bufio.NewReaderSize(r, 4096)
	var buf []byte
	for {
		chunk, err := br.ReadSlice('\n')
		buf = append(buf, chunk...)
		switch {
		case err == nil:
			s.line(stream, string(buf[:len(buf)-1]))
			buf = buf[:0]
		case errors.Is(err, bufio.ErrBufferFull):
			if len(buf) >= maxLineBytes {
				s.line(stream, string(buf))
				buf = buf[:0]
			}
		default:
			if len(buf) > 0 {
				s.line(stream, string(buf))
			}
			if !errors.Is(err, io.EOF) && !errors.Is(err, os.ErrClosed) {
				s.line(streamDaemon, "output error: "+err.Error())
			}
			return
		}
	}
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

func (s *logSink) record(stream, text string, async bool) {
	if n := len(text); n > 0 && text[n-1] == '\r' {
		text = text[:n-1]
	}
	l := &messages.LogLine{Module: s.name, Stream: stream, Line: text, Time: timestamppb.New(time.Now())}
	s.mu.Lock()
	if s.n == len(s.ring) {
		s.ring[s.head] = l
		s.head = (s.head + 1) % len(s.ring)
	} else {
		s.ring[(s.head+s.n)%len(s.ring)] = l
		s.n++
	}
	if s.file != nil && !async && !s.closed {
		_, _ = s.file.Write([]byte(text + "\n"))
	}
	s.mu.Unlock()
	if s.file != nil && async {
		fileIO(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if !s.closed {
				_, _ = s.file.Write([]byte(text + "\n"))
			}
		})
	}
	if s.bus != nil {
		s.root.Send(s.bus, messages.NewEvent(s.topic, s.name, l))
	}
}

// tail returns the last n lines, oldest first.
func (s *logSink) tail(n int) []*messages.LogLine {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n <= 0 {
		n = defaultTailLen
	}
	if n > s.n {
		n = s.n
	}
	out := make([]*messages.LogLine, n)
	for i := range n {
		out[i] = s.ring[(s.head+s.n-n+i)%len(s.ring)]
	}
	return out
}

// close closes the log file; later lines only reach the ring and the bus.
func (s *logSink) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.file != nil {
		_ = s.file.Close()
	}
}
