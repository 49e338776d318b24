package modules

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/asynkron/protoactor-go/actor"
)

// runningFile, in the state directory, lists the modules wanted running,
// one name a line: the next daemon starts them again (Config.Resurrect).
const runningFile = "modules.running"

// maxRunningFile bounds what readRunning reads.
const maxRunningFile = 1 << 20

// runningSet is the resurrect bookkeeping of the supervisor.
type runningSet struct {
	loaded   bool         // the last daemon's set has been read
	deferred []*actor.PID // StartAutostart senders waiting for it
	names    []string     // the last daemon's set
	started  bool         // autostart ran: the set may be saved
	saved    string       // the content last written
}

// loadRunning reads the last daemon's running set off the actor goroutine;
// runningLoaded brings it back.
func (s *supervisor) loadRunning() {
	if !s.cfg.Resurrect || s.deps.StateDir == "" {
		s.running.loaded = true
		return
	}
	path := filepath.Join(s.deps.StateDir, runningFile)
	self, root := s.self, s.root
	go func() { // off the actor goroutine: reads a file
		names, err := readRunning(path)
		root.Send(self, runningLoaded{names: names, err: err})
	}()
}

func (s *supervisor) onRunningLoaded(msg runningLoaded) {
	if msg.err != nil {
		s.log.Warn("running set of the last daemon not read", "error", msg.err)
	}
	s.running.loaded, s.running.names = true, msg.names
	for _, to := range s.running.deferred {
		s.autostart(to)
	}
	s.running.deferred = nil
}

// autostartNames is daemon.autostart, then the known, enabled modules of
// the last daemon's running set.
func (s *supervisor) autostartNames() []string {
	s.running.started = true
	names := slices.Clone(s.cfg.Autostart)
	var back []string
	for _, n := range s.running.names {
		if rec := s.recs[n]; rec != nil && rec.state != StateDisabled && !slices.Contains(names, n) {
			names = append(names, n)
			back = append(back, n)
		}
	}
	if len(back) > 0 {
		s.log.Info("starting the modules that ran under the last daemon", "modules", back)
	}
	return names
}

// saveRunning writes the set of modules wanted running when it changed,
// on the file goroutine (tmp + rename). Not while shutting down: the set
// the daemon stopped with is the one to start again.
func (s *supervisor) saveRunning() {
	if !s.cfg.Resurrect || s.deps.StateDir == "" || !s.running.started || s.shutting {
		return
	}
	var names []string
	for _, n := range s.order {
		if rec := s.recs[n]; rec.want {
			names = append(names, n)
		}
	}
	content := strings.Join(names, "\n")
	if content == s.running.saved {
		return
	}
	s.running.saved = content
	path, log := filepath.Join(s.deps.StateDir, runningFile), s.log
	if !fileIO(func() {
		if err := writeAtomic(path, []byte(content)); err != nil {
			log.Warn("running set not saved", "error", err)
		}
	}) {
		s.running.saved = "\x00" // not written: try again after the next message
		log.Warn("running set not saved: the file queue is full")
	}
}

// readRunning reads a running set file; a missing file is an empty set.
func readRunning(path string) ([]string, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > maxRunningFile {
		return nil, fmt.Errorf("%s: %d bytes, more than %d", path, st.Size(), maxRunningFile)
	}
	b := make([]byte, st.Size())
	if _, err := f.ReadAt(b, 0); err != nil && st.Size() > 0 {
		return nil, err
	}
	var names []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			names = append(names, l)
		}
	}
	return names, nil
}

// writeAtomic writes b to path through a temporary file and a rename.
func writeAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
