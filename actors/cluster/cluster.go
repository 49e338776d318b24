package cluster

import (
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/scheduler"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/superbot/superbot/actors/bus"
	"github.com/superbot/superbot/actors/cluster/etcd"
	"github.com/superbot/superbot/actors/rpc"
	"github.com/superbot/superbot/messages"
)

// Kind names the cluster actor in the supervision tree.
const Kind = "cluster"

// loadInterval is how often the node measures its load for its record.
const loadInterval = 10 * time.Second

// Deps are what the cluster actor works with.
type Deps struct {
	// Node is this node's name (cluster.node, else daemon.node).
	Node string
	// Version is the daemon's version, shown in the member list.
	Version string
	// Etcd is the client (NewEtcd); its owner closes it after the actor
	// stopped.
	Etcd *etcd.Client
	// Bus is the local bus: the forwarders subscribe on it and relayed
	// events are published on it.
	Bus *actor.PID
	// Router answers calls relayed from other nodes.
	Router *rpc.Router
	// Modules is the modules supervisor (ModuleListRequest), for the
	// record's modules; may be nil.
	Modules *actor.PID
	// Relay is the router's relay (install it with Router.SetRelay); the
	// actor keeps its view of the members up to date.
	Relay *Relay
	// Load measures this node's load (off the actor goroutine); nil
	// leaves it out.
	Load func() *messages.ClusterLoad
	// Leads are the singletons this node leads, published in its record;
	// nil: none.
	Leads *Leads
	// Logger is the component logger.
	Logger *slog.Logger
}

// Props returns the cluster actor's props. Validate cfg first. A nil
// deps.Relay gets one of its own (no router uses it then).
func Props(cfg Config, deps Deps) *actor.Props {
	if deps.Relay == nil {
		deps.Relay = NewRelay(deps.Node)
	}
	return actor.PropsFromProducer(func() actor.Actor {
		return &clusterActor{cfg: cfg, deps: deps, log: deps.Logger}
	})
}

type clusterActor struct {
	cfg        Config
	deps       Deps
	log        *slog.Logger
	link       *link
	self       *messages.ClusterMember
	members    map[string]*messages.ClusterMember // by node, this one included
	registered bool
	fwd        map[string]*forwarderRef // by remote node
	acks       *bus.Acker
	listing    bool // a ModuleListRequest is out
	relist     bool // and another is due when it answers
	loadTimer  scheduler.CancelFunc
}

// forwarderRef is a running forwarder and what it was started for.
type forwarderRef struct {
	pid      *actor.PID
	target   string // address/actor of the node's cluster actor
	patterns []string
}

// Local messages.
type (
	loadTick     struct{}
	loadMeasured struct{ load *messages.ClusterLoad }
	leadsChanged struct{}
)

func (a *clusterActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		a.onStarted(ctx)
	case *actor.Stopping, *actor.Restarting:
		a.release()
	case *linkUp:
		a.onLinkUp(ctx, msg)
	case *linkDown:
		a.onLinkDown(ctx, msg)
	case *memberPut:
		a.onMemberPut(ctx, msg.m)
	case *memberGone:
		a.onMemberGone(ctx, msg.node)
	case *bus.Patterns:
		a.self.Patterns = msg.List
		a.publishRecord()
	case *messages.Event:
		a.onModuleEvent(ctx, msg)
	case *messages.ModuleListResponse:
		a.onModuleList(ctx, msg)
	case *messages.SubscribeResponse:
		a.onSubscribed(msg)
	case loadTick:
		a.measureLoad(ctx)
	case *loadMeasured:
		a.self.Load = msg.load
		a.publishRecord()
	case leadsChanged:
		a.self.Leads = a.deps.Leads.list()
		a.publishRecord()
	case *messages.ClusterMembersRequest:
		ctx.Respond(a.membersResponse())
	case *messages.ClusterEventBatch:
		a.onEvents(ctx, msg)
	case *messages.ClusterCallRequest:
		a.onCall(ctx, msg)
	case *messages.PingRequest:
		ctx.Respond(&messages.PingResponse{Name: Kind})
	case *actor.Stopped, *actor.Terminated:
	default:
		a.log.Warn("unhandled message", "type", fmt.Sprintf("%T", msg))
	}
}

func (a *clusterActor) onStarted(ctx actor.Context) {
	self := ctx.Self()
	a.self = &messages.ClusterMember{
		Node: a.deps.Node, Address: self.Address, Version: a.deps.Version, Actor: self.Id,
		Joined: timestamppb.Now(), Patterns: []string{},
	}
	if a.deps.Leads != nil {
		root := ctx.ActorSystem().Root
		a.deps.Leads.watch(func() { root.Send(self, leadsChanged{}) })
		a.self.Leads = a.deps.Leads.list()
	}
	a.members = map[string]*messages.ClusterMember{a.deps.Node: a.self}
	a.fwd = map[string]*forwarderRef{}
	a.deps.Relay.bind(a.deps.Node, self, a.deps.Router)
	a.publishView()
	if a.deps.Bus != nil {
		ctx.Send(a.deps.Bus, &bus.WatchPatterns{Watcher: self})
		a.acks = bus.NewAcker(a.deps.Bus, 0)
		ctx.Request(a.deps.Bus, &messages.SubscribeRequest{Pattern: "module.>", Subscriber: self, Relay: true})
	}
	a.listModules(ctx)
	if a.deps.Load != nil {
		a.measureLoad(ctx)
		a.loadTimer = scheduler.NewTimerScheduler(ctx).SendRepeatedly(loadInterval, loadInterval, self, loadTick{})
	}
	a.link = startLink(a.deps.Etcd, a.cfg, a.deps.Node, ctx.ActorSystem().Root, self, a.record())
	a.log.Info("cluster node starting", "node", a.deps.Node, "address", self.Address, "etcd", a.cfg.Etcd)
}

// release stops the link (revoking the lease: this node leaves at once)
// and the load timer. The forwarders are children: they stop with it.
func (a *clusterActor) release() {
	if a.loadTimer != nil {
		a.loadTimer()
		a.loadTimer = nil
	}
	if a.link != nil {
		a.link.stop()
		a.link = nil
	}
	if a.deps.Leads != nil {
		a.deps.Leads.watch(nil)
	}
	a.deps.Relay.unbind()
}

func (a *clusterActor) record() []byte {
	b, err := proto.Marshal(a.self)
	if err != nil { // a generated message always marshals
		panic(fmt.Errorf("cluster: marshal record: %w", err))
	}
	return b
}

// publishRecord hands the link this node's record when it changed.
func (a *clusterActor) publishRecord() {
	if a.link != nil {
		a.link.update(a.record())
	}
	a.publishView()
}

func (a *clusterActor) onLinkUp(ctx actor.Context, msg *linkUp) {
	if !a.registered {
		a.log.Info("cluster registered", "node", a.deps.Node, "members", len(msg.members))
	}
	a.registered = true
	a.members = msg.members
	a.members[a.deps.Node] = a.self
	a.syncForwarders(ctx)
}

// onLinkDown: this node cannot prove who is alive, and the others drop it
// when its lease expires; it forgets the other nodes until it registers
// again.
func (a *clusterActor) onLinkDown(ctx actor.Context, msg *linkDown) {
	if a.registered {
		a.log.Warn("cluster registration lost; retrying", "node", a.deps.Node, "error", msg.err)
	}
	a.registered = false
	a.members = map[string]*messages.ClusterMember{a.deps.Node: a.self}
	a.syncForwarders(ctx)
}

func (a *clusterActor) onMemberPut(ctx actor.Context, m *messages.ClusterMember) {
	if m.Node == a.deps.Node {
		return // our own record: a.self is newer or equal
	}
	if _, known := a.members[m.Node]; !known {
		a.log.Info("cluster node joined", "node", m.Node, "address", m.Address)
	}
	a.members[m.Node] = m
	a.syncForwarders(ctx)
}

func (a *clusterActor) onMemberGone(ctx actor.Context, node string) {
	if node == a.deps.Node {
		return // our lease ended: the link registers again (linkDown, linkUp)
	}
	if _, known := a.members[node]; known {
		a.log.Info("cluster node left", "node", node)
	}
	delete(a.members, node)
	a.syncForwarders(ctx)
}

// syncForwarders runs one forwarder per remote node that has patterns, with
// those patterns, and publishes the relay's view.
func (a *clusterActor) syncForwarders(ctx actor.Context) {
	for node, f := range a.fwd {
		m := a.members[node]
		if m == nil || len(m.Patterns) == 0 || targetOf(m) != f.target {
			ctx.Stop(f.pid)
			delete(a.fwd, node)
		}
	}
	for node, m := range a.members {
		if node == a.deps.Node || len(m.Patterns) == 0 || a.deps.Bus == nil {
			continue
		}
		f := a.fwd[node]
		if f == nil {
			pid := ctx.Spawn(forwarderProps(a.log.With("forward_to", node), a.deps.Node, a.deps.Bus, actor.NewPID(m.Address, m.Actor), m.Patterns))
			a.fwd[node] = &forwarderRef{pid: pid, target: targetOf(m), patterns: m.Patterns}
			continue
		}
		if !slices.Equal(f.patterns, m.Patterns) {
			f.patterns = m.Patterns
			ctx.Send(f.pid, &setPatterns{list: m.Patterns})
		}
	}
	a.publishView()
}

func targetOf(m *messages.ClusterMember) string { return m.Address + "/" + m.Actor }

func (a *clusterActor) onModuleEvent(ctx actor.Context, ev *messages.Event) {
	if a.acks != nil {
		a.acks.Handled(ctx)
	}
	if ev.Node == a.deps.Node || ev.Node == "" {
		a.listModules(ctx)
	}
}

// listModules asks the modules supervisor for the module list, one request
// at a time (a burst of module events makes one more).
func (a *clusterActor) listModules(ctx actor.Context) {
	if a.deps.Modules == nil {
		return
	}
	if a.listing {
		a.relist = true
		return
	}
	a.listing = true
	ctx.Request(a.deps.Modules, &messages.ModuleListRequest{})
}

func (a *clusterActor) onModuleList(ctx actor.Context, res *messages.ModuleListResponse) {
	a.listing = false
	defined, running := []string{}, []string{}
	for _, m := range res.Modules {
		defined = append(defined, m.Name)
		if m.State == "running" {
			running = append(running, m.Name)
		}
	}
	slices.Sort(defined)
	slices.Sort(running)
	if !slices.Equal(defined, a.self.Modules) || !slices.Equal(running, a.self.Running) {
		a.self.Modules, a.self.Running = defined, running
		a.publishRecord()
	}
	if a.relist {
		a.relist = false
		a.listModules(ctx)
	}
}

func (a *clusterActor) onSubscribed(res *messages.SubscribeResponse) {
	if res.Error != nil {
		a.log.Warn("cluster bus subscription refused", "error", res.Error)
	}
}

// measureLoad measures on a goroutine (gopsutil reads /proc).
func (a *clusterActor) measureLoad(ctx actor.Context) {
	root, self, load := ctx.ActorSystem().Root, ctx.Self(), a.deps.Load
	go func() { root.Send(self, &loadMeasured{load: load()}) }()
}

func (a *clusterActor) membersResponse() *messages.ClusterMembersResponse {
	res := &messages.ClusterMembersResponse{Self: a.deps.Node, Registered: a.registered}
	for _, n := range sortedKeys(a.members) {
		// A copy: the edge encodes it on its own goroutine while this
		// actor goes on updating its own record.
		res.Members = append(res.Members, proto.CloneOf(a.members[n]))
	}
	return res
}

// onEvents publishes events relayed from another node on the local bus
// (local delivery only: the forwarders never send another node's events
// on) and acks the batch to its forwarder.
func (a *clusterActor) onEvents(ctx actor.Context, batch *messages.ClusterEventBatch) {
	if ctx.Sender() != nil {
		defer ctx.Respond(&messages.ClusterEventAck{Count: uint32(len(batch.Events))})
	}
	if a.deps.Bus == nil {
		return
	}
	for _, ev := range batch.Events {
		if ev.Node == "" {
			ev.Node = batch.Node
		}
		if ev.Node == a.deps.Node {
			continue
		}
		ctx.Send(a.deps.Bus, ev)
	}
}

// publishView hands the relay the members as they are now.
func (a *clusterActor) publishView() {
	a.deps.Relay.publish(a.deps.Node, a.members)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// DefaultLoad measures this process: goroutines, RSS and CPU.
func DefaultLoad(rss func() (uint64, float64)) func() *messages.ClusterLoad {
	return func() *messages.ClusterLoad {
		l := &messages.ClusterLoad{Goroutines: int32(runtime.NumGoroutine())}
		if rss != nil {
			l.RssBytes, l.CpuPercent = rss()
		}
		return l
	}
}
