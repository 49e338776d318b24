package election

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/superbot/superbot/runtime/netns"
)

// recorder is the fenced resource: ONE goroutine owns a UDP socket in its
// own namespace, timestamps every action with ONE clock, and also sends the
// faults (so the fault instant is on the same clock).
type recorder struct {
	pc    net.PacketConn
	epoch time.Time
	cmds  chan func(now time.Duration)
	done  chan struct{}
	// owned by the loop goroutine
	maxToken int64
	first    map[int64]time.Duration
	last     map[int64]time.Duration
	nodeOf   map[int64]string
	overlaps []string
	total    int
}

// snapshot is what the test goroutine reads from the recorder.
type snapshot struct {
	now      time.Duration
	maxToken int64
	node     string
	first    map[int64]time.Duration
	last     map[int64]time.Duration
	overlaps []string
	total    int
}

func newRecorder(t *testing.T, pc net.PacketConn) *recorder {
	r := &recorder{pc: pc, epoch: time.Now(), cmds: make(chan func(time.Duration)), done: make(chan struct{}),
		first: map[int64]time.Duration{}, last: map[int64]time.Duration{}, nodeOf: map[int64]string{}}
	go r.loop()
	t.Cleanup(func() { _ = pc.Close(); <-r.done })
	return r
}

func (r *recorder) loop() {
	defer close(r.done)
	buf := make([]byte, 256)
	for {
		select {
		case fn := <-r.cmds:
			fn(time.Since(r.epoch))
			continue
		default:
		}
		_ = r.pc.SetReadDeadline(time.Now().Add(2 * time.Millisecond))
		n, _, err := r.pc.ReadFrom(buf)
		now := time.Since(r.epoch)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		r.record(now, string(buf[:n]))
	}
}

// record checks the fence: a token below the highest seen is an overlap
// (an old leader acting after a newer one started).
func (r *recorder) record(now time.Duration, msg string) {
	f := strings.Fields(msg)
	if len(f) != 3 {
		return
	}
	token, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return
	}
	r.total++
	if token < r.maxToken {
		r.overlaps = append(r.overlaps, fmt.Sprintf("at %v node %s acted with token %d after token %d (node %s) first acted at %v",
			now, f[0], token, r.maxToken, r.nodeOf[r.maxToken], r.first[r.maxToken]))
	}
	if _, seen := r.first[token]; !seen {
		r.first[token], r.nodeOf[token] = now, f[0]
	}
	r.last[token] = now
	r.maxToken = max(r.maxToken, token)
}

// do runs fn on the recorder's goroutine and returns its instant.
func (r *recorder) do(fn func()) time.Duration {
	at := make(chan time.Duration, 1)
	r.cmds <- func(now time.Duration) { fn(); at <- now }
	return <-at
}

func (r *recorder) snap() snapshot {
	var s snapshot
	r.do(func() {
		s = snapshot{now: time.Since(r.epoch), maxToken: r.maxToken, node: r.nodeOf[r.maxToken], total: r.total,
			first: maps(r.first), last: maps(r.last), overlaps: slices.Clone(r.overlaps)}
	})
	return s
}

func maps(m map[int64]time.Duration) map[int64]time.Duration {
	out := make(map[int64]time.Duration, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// waitFor polls the recorder until cond holds or timeout passes on its clock.
func (r *recorder) waitFor(timeout time.Duration, cond func(snapshot) bool) (snapshot, bool) {
	start := r.snap().now
	for {
		s := r.snap()
		if cond(s) {
			return s, true
		}
		if s.now-start > timeout {
			return s, false
		}
		time.Sleep(5 * time.Millisecond) //nolint:forbidigo // polling the recorder with a deadline
	}
}

// cluster is etcd, the recorder and the nodes, each in its own namespace.
type cluster struct {
	t     *testing.T
	net   *netns.Net
	etcd  *netns.Etcd
	rec   *recorder
	bin   string
	addr  string
	logs  string
	procs map[string]*nodeProc
}

type nodeProc struct {
	cmd    *exec.Cmd
	exited chan struct{}
}

var nodeNames = []string{"n1", "n2", "n3"}

// failoverConfig is the election's TTL and margin for the failover runs:
// the defaults, or SUPERBOT_FAILOVER_TTL / SUPERBOT_FAILOVER_MARGIN (a
// 1 s lease needs etcd's election timeout <= 600 ms, as netns.StartEtcd
// sets it).
func failoverConfig(t *testing.T) Config {
	t.Helper()
	cfg := DefaultConfig()
	for env, d := range map[string]*time.Duration{"SUPERBOT_FAILOVER_TTL": &cfg.TTL, "SUPERBOT_FAILOVER_MARGIN": &cfg.Margin} {
		if v := os.Getenv(env); v != "" {
			x, err := time.ParseDuration(v)
			if err != nil {
				t.Fatalf("%s: %v", env, err)
			}
			*d = x
		}
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func buildFailnode(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "failnode")
	cmd := exec.Command("go", "build", "-o", bin, "./internal/failnode")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build failnode: %v: %s", err, out)
	}
	return bin
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	netns.Available(t)
	c := &cluster{t: t, bin: buildFailnode(t), logs: t.TempDir(), procs: map[string]*nodeProc{}}
	c.net = netns.New(t, append([]string{"etcd", "rec"}, nodeNames...)...)
	c.etcd = netns.StartEtcd(t, c.net.Node("etcd"))
	rec := c.net.Node("rec")
	c.addr = rec.IP + ":9000"
	pc, err := rec.ListenPacket("udp", c.addr)
	if err != nil {
		t.Fatal(err)
	}
	c.rec = newRecorder(t, pc)
	t.Cleanup(c.stopAll)
	for _, n := range nodeNames {
		c.start(n)
	}
	return c
}

func (c *cluster) start(node string) {
	c.t.Helper()
	logf, err := os.OpenFile(filepath.Join(c.logs, node+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		c.t.Fatal(err)
	}
	cfg := failoverConfig(c.t)
	cmd := c.net.Node(node).Command(context.Background(), c.bin,
		"-etcd", c.etcd.Endpoint, "-node", node, "-recorder", c.addr, "-ttl", cfg.TTL.String(), "-margin", cfg.Margin.String())
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		c.t.Fatal(err)
	}
	p := &nodeProc{cmd: cmd, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); _ = logf.Close(); close(p.exited) }()
	c.procs[node] = p
}

func (c *cluster) signal(node string, sig syscall.Signal) {
	if p := c.procs[node]; p != nil {
		_ = p.cmd.Process.Signal(sig)
	}
}

// kill SIGKILLs node and waits for it to exit.
func (c *cluster) kill(node string) {
	p := c.procs[node]
	if p == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGCONT)
	_ = p.cmd.Process.Kill()
	<-p.exited
	delete(c.procs, node)
}

func (c *cluster) stopAll() {
	for n := range c.procs {
		c.kill(n)
	}
	if c.t.Failed() {
		for _, n := range nodeNames {
			if b, err := os.ReadFile(filepath.Join(c.logs, n+".log")); err == nil {
				if len(b) > 3000 {
					b = b[len(b)-3000:]
				}
				c.t.Logf("%s log tail:\n%s", n, b)
			}
		}
	}
}

// leader waits for a leader with a token above after that acts steadily.
func (c *cluster) leader(after int64, timeout time.Duration) (int64, string, bool) {
	s, ok := c.rec.waitFor(timeout, func(s snapshot) bool {
		return s.maxToken > after && s.now-s.last[s.maxToken] < 50*time.Millisecond &&
			s.last[s.maxToken]-s.first[s.maxToken] > 100*time.Millisecond
	})
	return s.maxToken, s.node, ok
}

// trial is one fault and its measures on the recorder's clock.
type trial struct {
	kind     string
	oldToken int64
	newToken int64
	faultAt  time.Duration
	// faultTook is how long injecting the fault took (the partition's
	// iptables run); failover counts from before it.
	faultTook time.Duration
	oldLast   time.Duration // the old token's last action
	newFirst  time.Duration // the new leader's first action
	// acting is set for the etcd-down trial: actions seen later than TTL
	// after etcd died (want none).
	acting int
}

// failover is fault -> first action of the new leader.
func (tr trial) failover() time.Duration { return tr.newFirst - tr.faultAt }

// gap is the old leader's last action -> the new leader's first.
func (tr trial) gap() time.Duration { return tr.newFirst - tr.oldLast }

// newLeader waits for the first action of a token above old.
func (c *cluster) newLeader(old int64, timeout time.Duration) (int64, time.Duration, error) {
	s, ok := c.rec.waitFor(timeout, func(s snapshot) bool { return s.maxToken > old })
	if !ok {
		return 0, 0, fmt.Errorf("no leader after token %d within %v", old, timeout)
	}
	tok, first := int64(0), time.Duration(-1)
	for k, at := range s.first {
		if k > old && (first < 0 || at < first) {
			tok, first = k, at
		}
	}
	return tok, first, nil
}

// until waits until the recorder's clock passes at.
func (c *cluster) until(at time.Duration) {
	c.rec.waitFor(at+time.Minute, func(s snapshot) bool { return s.now >= at })
}

// runTrial injects one fault of kind into the current leader and measures
// the takeover on the recorder's clock.
func (c *cluster) runTrial(kind string) (trial, error) {
	old, node, ok := c.leader(0, 30*time.Second)
	if !ok {
		return trial{}, errors.New("no steady leader before the fault")
	}
	tr := trial{kind: kind, oldToken: old}
	var err error
	switch kind {
	case "kill":
		tr.faultAt = c.rec.do(func() { c.signal(node, syscall.SIGKILL) })
		tr.newToken, tr.newFirst, err = c.newLeader(old, 15*time.Second)
		c.kill(node)
		c.start(node)
	case "stop":
		tr.faultAt = c.rec.do(func() { c.signal(node, syscall.SIGSTOP) })
		tr.newToken, tr.newFirst, err = c.newLeader(old, 15*time.Second)
		c.until(tr.faultAt + 10*time.Second)
		cont := c.rec.do(func() { c.signal(node, syscall.SIGCONT) })
		c.until(cont + time.Second) // watch the resumed node for stale actions
	case "partition":
		tr.faultAt = c.rec.do(func() {})
		if err := c.net.Partition(node, "rec"); err != nil {
			return tr, err
		}
		tr.faultTook = c.rec.do(func() {}) - tr.faultAt
		tr.newToken, tr.newFirst, err = c.newLeader(old, 15*time.Second)
		c.until(tr.newFirst + time.Second)
		if herr := c.net.Heal(node); herr != nil && err == nil {
			err = herr
		}
		healed := c.rec.do(func() {})
		c.until(healed + time.Second)
	case "etcd":
		err = c.etcdDown(&tr)
	default:
		return tr, fmt.Errorf("unknown trial kind %q", kind)
	}
	tr.oldLast = c.rec.snap().last[old]
	return tr, err
}

// etcdDown kills etcd under a leader, counts actions later than TTL after
// (nobody may act), restarts etcd and measures the recovery from the restart.
func (c *cluster) etcdDown(tr *trial) error {
	down := c.rec.do(func() { _ = c.etcd.Signal(syscall.SIGKILL) })
	c.etcd.Kill()
	c.until(down + 3*time.Second)
	s := c.rec.snap()
	for _, at := range s.last {
		if at > down+failoverConfig(c.t).TTL {
			tr.acting++
		}
	}
	tr.faultAt = c.rec.do(func() {})
	if err := c.etcd.Start(); err != nil {
		return err
	}
	var err error
	tr.newToken, tr.newFirst, err = c.newLeader(tr.oldToken, 20*time.Second)
	return err
}

func (c *cluster) overlaps() []string { return c.rec.snap().overlaps }
