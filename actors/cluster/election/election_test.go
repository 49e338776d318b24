package election

import (
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/actors/cluster/etcd"
	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/messages"
	"github.com/superbot/superbot/runtime/netns"
)

// localEtcd starts etcd on 127.0.0.1 (free ports, data in t.TempDir()).
func localEtcd(t *testing.T) *netns.Etcd {
	t.Helper()
	if _, err := exec.LookPath("etcd"); err != nil {
		msg := "etcd not installed (apt-get install -y etcd-server)"
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true: %s", msg)
		}
		t.Skip(msg)
	}
	return netns.StartEtcd(t, nil)
}

func newClient(t *testing.T, endpoint string) *etcd.Client {
	t.Helper()
	cli, err := etcd.New(etcd.Config{Endpoints: []string{endpoint}, DialTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	return cli
}

// candidate is a parent actor running one election actor as its child and
// relaying Elected/Deposed to a probe.
type candidate struct {
	probe *actortest.Probe
	pid   *actor.PID // the parent
	guard *Guard
}

func spawnCandidate(t *testing.T, sys *actor.ActorSystem, cli *etcd.Client, node string, bus *actor.PID) *candidate {
	t.Helper()
	c := &candidate{probe: actortest.NewProbe(t, sys), guard: NewGuard(nil)}
	props, err := Props("trading", DefaultConfig(), Deps{Client: cli, Node: node, Bus: bus, Guard: c.guard, Log: actortest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	var child *actor.PID
	c.pid = actortest.Spawn(t, sys, actor.PropsFromFunc(func(ctx actor.Context) {
		switch msg := ctx.Message().(type) {
		case *actor.Started:
			child = ctx.Spawn(props)
		case *Elected, *Deposed:
			ctx.Send(c.probe.PID, msg)
		case Resign:
			ctx.Send(child, msg)
		}
	}))
	return c
}

func TestElectedWithTokenAndMayAct(t *testing.T) {
	e := localEtcd(t)
	sys := actortest.NewSystem(t)
	c := spawnCandidate(t, sys, newClient(t, e.Endpoint), "n1", nil)
	el := actortest.Expect[*Elected](t, c.probe, 10*time.Second)
	if el.Name != "trading" || el.Token <= 0 || el.Guard != c.guard {
		t.Fatalf("Elected = %+v", el)
	}
	if tok, ok := c.guard.MayAct(); !ok || tok != el.Token {
		t.Fatalf("MayAct = %d %v, want %d true", tok, ok, el.Token)
	}
}

func TestTokensIncreaseAndHandover(t *testing.T) {
	e := localEtcd(t)
	sys := actortest.NewSystem(t)
	a := spawnCandidate(t, sys, newClient(t, e.Endpoint), "a", nil)
	ea := actortest.Expect[*Elected](t, a.probe, 10*time.Second)
	b := spawnCandidate(t, sys, newClient(t, e.Endpoint), "b", nil)
	b.probe.ExpectNoMessage(300 * time.Millisecond) // b waits behind a

	// Resign hands over at once (well before a's lease would run out).
	start := time.Now()
	sys.Root.Send(a.pid, Resign{})
	da := actortest.Expect[*Deposed](t, a.probe, 5*time.Second)
	if da.Token != ea.Token || da.Reason != "resigned" {
		t.Fatalf("Deposed = %+v", da)
	}
	eb := actortest.Expect[*Elected](t, b.probe, 5*time.Second)
	took := time.Since(start)
	if _, ok := a.guard.MayAct(); ok {
		t.Fatal("a may still act after b was elected")
	}
	if eb.Token <= ea.Token {
		t.Fatalf("token did not increase: %d then %d", ea.Token, eb.Token)
	}
	if took >= DefaultConfig().TTL {
		t.Fatalf("handover took %v: resign did not hand over, the lease ran out", took)
	}
	t.Logf("resign handover in %v; tokens %d -> %d", took, ea.Token, eb.Token)

	// Stopping the leader resigns too; a (campaigning again) takes over.
	start = time.Now()
	if err := sys.Root.StopFuture(b.pid).Wait(); err != nil {
		t.Fatal(err)
	}
	ea2 := actortest.Expect[*Elected](t, a.probe, 5*time.Second)
	if took := time.Since(start); took >= DefaultConfig().TTL {
		t.Fatalf("handover on stop took %v", took)
	}
	if ea2.Token <= eb.Token {
		t.Fatalf("token did not increase: %d then %d", eb.Token, ea2.Token)
	}
}

func TestEtcdDownDeposesWithinTTLAndRecovers(t *testing.T) {
	e := localEtcd(t)
	sys := actortest.NewSystem(t)
	bus := actortest.NewProbe(t, sys)
	c := spawnCandidate(t, sys, newClient(t, e.Endpoint), "n1", bus.PID)
	el := actortest.Expect[*Elected](t, c.probe, 10*time.Second)

	e.Kill()
	killed := time.Now()
	for {
		if _, ok := c.guard.MayAct(); !ok {
			break
		}
		if time.Since(killed) > 5*time.Second {
			t.Fatal("still may act 5 s after etcd died")
		}
		time.Sleep(time.Millisecond) //nolint:forbidigo // polling the guard on one goroutine's clock
	}
	stopped := time.Since(killed)
	if stopped > DefaultConfig().TTL {
		t.Fatalf("acted for %v after etcd died, want <= ttl %v", stopped, DefaultConfig().TTL)
	}
	d := actortest.Expect[*Deposed](t, c.probe, 5*time.Second)
	if d.Token != el.Token {
		t.Fatalf("Deposed = %+v", d)
	}
	ev := actortest.Expect[*messages.Event](t, bus, 5*time.Second)
	var alert messages.ElectionAlert
	if ev.Topic != AlertTopic || ev.Payload.UnmarshalTo(&alert) != nil || alert.Token != el.Token || alert.Node != "n1" {
		t.Fatalf("alert = %v (%v)", ev, &alert)
	}
	t.Logf("stopped acting %v after etcd died; deposed: %s", stopped, d.Reason)
	c.probe.ExpectNoMessage(time.Second) // nobody leads while etcd is away

	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	el2 := actortest.Expect[*Elected](t, c.probe, 20*time.Second)
	if el2.Token <= el.Token {
		t.Fatalf("token after recovery %d, want > %d", el2.Token, el.Token)
	}
}
