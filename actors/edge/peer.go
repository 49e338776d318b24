package edge

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Which Unix socket peers are modules.
//
// Modules connect to the owner's socket as the owner's user, so the edge
// tells them apart by process, not by credentials: a peer (its pid from
// SO_PEERCRED) is a module when
//
//   - its environment carries EnvDaemon=<this daemon's marker> (what the
//     module manager gives every module, inherited by what it starts; the
//     module guard uses the same rule), or
//   - it descends from the daemon's process (what a module starts with an
//     environment of its own).
//
// A peer the edge cannot read (SO_PEERCRED failed, pid 0 from another pid
// namespace, /proc unreadable, the process gone, a parent chain deeper than
// maxPeerDepth) counts as a module: an unknown peer never takes the
// owner's reserved room. The owner's CLI is a live process of the same
// user, so it always reads. What this does not catch: a module's
// descendant that both left the daemon's tree (double fork) and dropped
// EnvDaemon; a process of the same user can also simply kill the daemon,
// so the rule guards against runaway modules, not hostile ones.

// envDaemon is modules.EnvDaemon (the edge does not import the modules
// package).
const envDaemon = "SUPERBOT_DAEMON"

// maxPeerDepth bounds the walk up a peer's parent chain.
const maxPeerDepth = 64

// envChunk is the size of one read of a peer's environment, which is
// scanned, never held whole.
const envChunk = 4 << 10

// moduleRule decides whether a socket peer is a module.
type moduleRule struct {
	mark []byte // "\x00SUPERBOT_DAEMON=<marker>\x00"
	root int    // the daemon's pid
	proc string // "/proc"
}

func newModuleRule(marker string) *moduleRule {
	if marker == "" {
		return nil
	}
	return &moduleRule{mark: []byte("\x00" + envDaemon + "=" + marker + "\x00"), root: os.Getpid(), proc: "/proc"}
}

// isModule reports whether the process pid is a module of this daemon
// (see above); the daemon's own process is not.
func (r *moduleRule) isModule(pid int) bool {
	if pid <= 0 {
		return true
	}
	if pid == r.root {
		return false
	}
	if marked, err := r.marked(pid); err != nil || marked {
		return true
	}
	for p, depth := pid, 0; p > 1; depth++ {
		if depth == maxPeerDepth {
			return true
		}
		pp, err := r.parent(p)
		if err != nil || pp == r.root {
			return true
		}
		p = pp
	}
	return false
}

// marked reports whether pid's environment holds r.mark.
func (r *moduleRule) marked(pid int) (bool, error) {
	f, err := os.Open(r.proc + "/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return false, err
	}
	defer func() { _ = f.Close() }()
	return containsMark(f, r.mark)
}

// containsMark scans r for mark (which starts and ends with NUL; r is a
// NUL-separated list that does not start with one) in envChunk reads,
// keeping only the tail a match could straddle.
func containsMark(rd io.Reader, mark []byte) (bool, error) {
	buf := make([]byte, 1, envChunk+len(mark))
	chunk := make([]byte, envChunk)
	for {
		n, err := rd.Read(chunk)
		buf = append(buf, chunk[:n]...)
		if bytes.Contains(buf, mark) {
			return true, nil
		}
		if keep := len(mark) - 1; len(buf) > keep {
			buf = append(buf[:0], buf[len(buf)-keep:]...)
		}
		if errors.Is(err, io.EOF) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
	}
}

// parent returns pid's parent pid, from /proc/PID/stat (the field after
// the state, itself after the command's closing parenthesis).
func (r *moduleRule) parent(pid int) (int, error) {
	b, err := os.ReadFile(r.proc + "/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("stat: no command")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 {
		return 0, errors.New("stat: no parent")
	}
	return strconv.Atoi(f[1])
}

// peerPID returns the pid of the process at the other end of a Unix
// socket connection (SO_PEERCRED, as of its connect), 0 if unknown.
func peerPID(nc net.Conn) int {
	uc, ok := nc.(*net.UnixConn)
	if !ok {
		return 0
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return 0
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil || cerr != nil {
		return 0
	}
	return int(cred.Pid)
}
