package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/actors/cluster/election"
	"github.com/superbot/superbot/actors/cluster/etcd"
	"github.com/superbot/superbot/actors/connector"
	"github.com/superbot/superbot/actors/journalsync"
	"github.com/superbot/superbot/actors/leader"
	"github.com/superbot/superbot/actors/orders"
	"github.com/superbot/superbot/actors/rpc"
	"github.com/superbot/superbot/actors/strategies"
	"github.com/superbot/superbot/actors/supervisor"
	"github.com/superbot/superbot/messages"
)

// electionConfig is the config of the daemon's singleton elections: the
// cluster's lease TTL, and a margin of 0.5 s, or 30 % of a shorter lease
// (0.3 s with 1 s, the setting the failover soak measures).
func (d *Daemon) electionConfig() election.Config {
	ecfg := election.DefaultConfig()
	ecfg.TTL, ecfg.Prefix = d.cfg.Cluster.LeaseTTL, d.cfg.Cluster.KeyPrefix+"election/"
	ecfg.Margin = min(ecfg.Margin, ecfg.TTL*3/10)
	return ecfg
}

// elections returns what makes the props of the election actor of one of
// the daemon's singletons (clustered only). It reads the daemon now: the
// function may run on any actor's goroutine.
func (d *Daemon) elections() func(name string) (*actor.Props, error) {
	cfg := d.electionConfig()
	deps := election.Deps{Client: d.links.etcd, Node: d.node(), Bus: d.busPID(), Log: d.log.With("component", "election")}
	return func(name string) (*actor.Props, error) { return election.Props(name, cfg, deps) }
}

// startLeader starts the trading part as the cluster's fenced singleton
// (startup step 4 when [cluster] is on): the leader actor campaigns in the
// "trading" election and runs the order actor (with the term's fencing
// token and guard) and the strategy host only while this node leads; the
// rest of the time its journal follower keeps this node's copy of the
// leader's journal. trading.* goes to the leader actor, which forwards.
func startLeader(d *Daemon) error {
	ecfg := d.electionConfig()
	el, err := d.elections()(leader.Election)
	if err != nil {
		return err
	}
	cfg := d.cfg.Trading.Orders()
	stateDir := d.cfg.Daemon.StateDir
	journal := cfg.Journal
	if !filepath.IsAbs(journal) {
		journal = filepath.Join(stateDir, journal)
	}
	fcfg := journalsync.FollowerConfig{Path: journal}
	if err := fcfg.Validate(); err != nil {
		return err
	}
	// The factories run on the leader actor's goroutine while Start goes on
	// adding to d.pids: they use these copies, never the daemon's maps.
	bus, conn, node, root, scfg := d.busPID(), d.pids[connector.Kind], d.node(), d.sys.Root, d.cfg.Trading.StrategiesConfig()
	log, leads := d.log, d.links.leads
	props := leader.Props(leader.Deps{
		Election: el,
		Orders: func(e *election.Elected) *actor.Props {
			// One publisher per term, kept across restarts of the order actor.
			pub := journalsync.NewPublisher(root, bus, node, e.Token)
			return orders.Props(cfg, orders.Deps{
				Bus: bus, Connector: conn, StateDir: stateDir, Logger: log.With("component", orders.Kind),
				Fence: e.Guard, Term: e.Token, OnCommit: pub.Publish, Position: pub.Position,
			})
		},
		Strategies: func(e *election.Elected, o *actor.PID) *actor.Props {
			return strategies.Props(scfg, strategies.Deps{
				Bus: bus, Orders: o, Connector: conn, Logger: log.With("component", strategies.Kind), Term: e.Token,
			})
		},
		Follower: func() *actor.Props {
			return journalsync.FollowerProps(fcfg, journalsync.FollowerDeps{Bus: bus, Node: node, Logger: log.With("component", "journal-follower"),
				Fetch: d.fetchSnapshot, Leader: electedNode(d.links.etcd, ecfg.Prefix+leader.Election)})
		},
		Leading: func(leading bool) { leads.Set(election.Trading, leading) },
		Logger:  log.With("component", leader.Kind),
	})
	if err := d.startChild(supervisor.ChildSpec{Name: leader.Kind, Core: true, Props: props}); err != nil {
		return err
	}
	pid := d.pids[leader.Kind]
	// The modules (the trading module) and the routes reach the term's
	// actors through the leader actor.
	d.pids[orders.Kind], d.pids[strategies.Kind] = pid, pid
	d.log.Info("trading runs as the cluster singleton", "election", ecfg.Prefix+leader.Election)
	if err := d.router.Add(orders.Routes(pid)...); err != nil {
		return err
	}
	return d.router.Add(strategies.Routes(pid)...)
}

// fetchSnapshot is the journal follower's Fetch: journal.snapshot called on
// node (the leader) through the router, which relays it there (the
// cluster's ClusterCallRequest path). It returns when ctx ends; the call
// itself then runs out on its route's timeout.
func (d *Daemon) fetchSnapshot(ctx context.Context, node string, req *messages.JournalSnapshotRequest) (*messages.JournalSnapshotResponse, error) {
	params, err := rpc.Encode(req)
	if err != nil {
		return nil, err
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(params, &obj); err != nil {
		return nil, err
	}
	if obj == nil {
		obj = map[string]json.RawMessage{}
	}
	if obj[rpc.NodeParam], err = json.Marshal(node); err != nil {
		return nil, err
	}
	if params, err = json.Marshal(obj); err != nil {
		return nil, err
	}
	p, err := d.router.Call(d.sys.Root, "journal.snapshot", params)
	if err != nil {
		return nil, err
	}
	type result struct {
		m   proto.Message
		err error
	}
	ch := make(chan result, 1)
	go func() {
		m, err := p.Result()
		ch <- result{m, err}
	}()
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case r := <-ch:
		if r.err != nil {
			return nil, r.err
		}
		res, ok := r.m.(*messages.JournalSnapshotResponse)
		if !ok {
			return nil, fmt.Errorf("journal.snapshot answered %T", r.m)
		}
		return res, nil
	}
}

// electedNode returns the follower's Leader: the node that holds the
// election (its key is the first created under the election's prefix;
// its value is the node's name), "" when none does.
func electedNode(cli *etcd.Client, election string) func(ctx context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		v, _, err := cli.Leader(ctx, election)
		return string(v), err
	}
}
