// Command failnode is one node of the election failover test: it runs an
// election actor for one singleton and, while Guard.MayAct says yes, sends
// a fenced action (node, token, seq) every -every to a UDP recorder. The
// failover test starts one per network namespace and kills, pauses or cuts
// them off.
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/actors/cluster/election"
	"github.com/superbot/superbot/actors/cluster/etcd"
)

func main() {
	etcd := flag.String("etcd", "", "etcd client URL")
	node := flag.String("node", "", "node name")
	recorder := flag.String("recorder", "", "recorder UDP address")
	every := flag.Duration("every", 2*time.Millisecond, "action interval")
	ttl := flag.Duration("ttl", 2*time.Second, "lease TTL")
	margin := flag.Duration("margin", 500*time.Millisecond, "lease margin")
	flag.Parse()
	if err := run(*etcd, *node, *recorder, *every, *ttl, *margin); err != nil {
		fmt.Fprintln(os.Stderr, "failnode:", err)
		os.Exit(1)
	}
}

func run(endpoint, node, recorder string, every, ttl, margin time.Duration) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})).With("node", node)
	cli, err := etcd.New(etcd.Config{Endpoints: []string{endpoint}, DialTimeout: 2 * time.Second})
	if err != nil {
		return err
	}
	defer func() { _ = cli.Close() }()
	conn, err := net.Dial("udp", recorder)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()

	cfg := election.DefaultConfig()
	cfg.TTL, cfg.Margin = ttl, margin
	guard := election.NewGuard(nil)
	props, err := election.Props("failover", cfg, election.Deps{Client: cli, Node: node, Guard: guard, Log: log})
	if err != nil {
		return err
	}
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return log.With("lib", "protoactor") }))
	parent := sys.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		switch msg := ctx.Message().(type) {
		case *actor.Started:
			ctx.Spawn(props)
		case *election.Elected:
			log.Info("elected", "token", msg.Token)
		case *election.Deposed:
			log.Info("deposed", "token", msg.Token, "reason", msg.Reason)
		}
	}))

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	tick := time.NewTicker(every)
	defer tick.Stop()
	var seq uint64
	for {
		select {
		case <-stop:
			_ = sys.Root.StopFuture(parent).Wait()
			return nil
		case <-tick.C:
			// The check and the send are adjacent: a pause between them is
			// what the fencing token is for (the recorder counts it).
			if token, ok := guard.MayAct(); ok {
				seq++
				_, _ = fmt.Fprintf(conn, "%s %d %d", node, token, seq)
			}
		}
	}
}
