package daemon

import (
	"time"

	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/actors/cluster"
	"github.com/superbot/superbot/actors/cluster/etcd"
	"github.com/superbot/superbot/actors/modules"
	"github.com/superbot/superbot/actors/supervisor"
	"github.com/superbot/superbot/messages"
)

// clusterLinks are what clustering adds to a daemon: the remote (gRPC)
// server and the etcd client. Nil when [cluster] is off.
type clusterLinks struct {
	remote *remote.Remote
	etcd   *etcd.Client
	leads  *cluster.Leads // the singletons this node leads, in its record
}

// startRemote starts protoactor's remote on the actor system when
// clustering is on (startup step 3, before any actor is spawned: PIDs carry
// the address), and makes the etcd client (it connects lazily). Off, it
// does nothing: no port, no etcd.
func (d *Daemon) startRemote() error {
	cfg := d.cfg.Cluster
	if !cfg.Enabled {
		return nil
	}
	r, err := cluster.StartRemote(d.sys, cfg, func(err error, wait time.Duration) {
		d.log.Warn("cluster remote port taken; retrying", "listen", cfg.Listen, "wait", wait.String(), "error", err)
	})
	if err != nil {
		return err
	}
	d.links = &clusterLinks{remote: r, leads: cluster.NewLeads()}
	d.log.Info("cluster remote listening", "listen", cfg.Listen, "address", d.sys.Address())
	cli, err := cluster.NewEtcd(cfg)
	if err != nil {
		closeLinks(d)
		return err
	}
	d.links.etcd = cli // the trading election needs it at step 4
	return nil
}

// startCluster starts the cluster actor, the router's relay and
// cluster.members (startup step 5, once the modules run).
func startCluster(d *Daemon) error {
	if d.links == nil {
		return nil
	}
	cfg := d.cfg.Cluster
	cli := d.links.etcd
	relay := cluster.NewRelay(d.node())
	if err := d.startChild(supervisor.ChildSpec{
		Name: cluster.Kind, Core: true,
		Props: cluster.Props(cfg, cluster.Deps{
			Node: d.node(), Version: Version, Etcd: cli, Bus: d.busPID(), Router: d.router,
			Modules: d.pids[modules.Kind], Relay: relay, Load: cluster.DefaultLoad(selfLoad), Leads: d.links.leads,
			Logger: d.log.With("component", cluster.Kind),
		}),
		Metrics: func() proto.Message { return &messages.ClusterMembersRequest{} },
	}); err != nil {
		return err
	}
	d.router.SetRelay(relay)
	return d.router.Add(cluster.Routes(d.pids[cluster.Kind])...)
}

// stopCluster leaves the cluster first in a shutdown: the cluster actor
// revokes its lease (the others drop this node at once). The etcd client
// and the remote server close at the end of the shutdown (closeLinks),
// once the trading leader has resigned.
func stopCluster(d *Daemon) {
	if d.links == nil {
		return
	}
	d.router.SetRelay(nil)
	d.stopChild(cluster.Kind, d.stepTimeout())
}

// closeLinks closes the etcd client and the remote server (also when a
// start fails half way).
func closeLinks(d *Daemon) {
	if d.links == nil {
		return
	}
	if d.links.etcd != nil {
		_ = d.links.etcd.Close()
	}
	d.links.remote.Shutdown(false)
	d.links = nil
}

// selfLoad is this process's RSS and CPU for the member record.
func selfLoad() (uint64, float64) {
	r, err := SelfResources()
	if err != nil {
		return 0, 0
	}
	return r.RssBytes, r.CpuPercent
}
