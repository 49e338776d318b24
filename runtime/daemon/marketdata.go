package daemon

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/actors/connector"
	"github.com/superbot/superbot/actors/exchangesim"
	"github.com/superbot/superbot/actors/marketdata"
	"github.com/superbot/superbot/actors/rpc"
	"github.com/superbot/superbot/actors/supervisor"
	"github.com/superbot/superbot/config"
	"github.com/superbot/superbot/messages"
)

// DataDir is the candle store's directory: [marketdata] dir, else "data"
// under daemon.state_dir.
func DataDir(cfg *config.Config) string {
	if cfg.Marketdata.Dir != "" {
		return cfg.Marketdata.Dir
	}
	return filepath.Join(cfg.Daemon.StateDir, "data")
}

// startMarketdata starts the marketdata actor after the connector (its
// downloads go through it) and adds the data.* methods; monitoring.metrics
// shows its jobs. The store is opened on first use.
func startMarketdata(d *Daemon) error {
	dir := DataDir(d.cfg)
	props := marketdata.Props(d.cfg.Marketdata, marketdata.Deps{
		Bus: d.busPID(), Connector: d.pids[connector.Kind], Store: marketdata.OpenStore(dir), Dir: dir,
		Logger: d.log.With("component", marketdata.Kind),
	})
	metrics := func() proto.Message { return &messages.DataStatusRequest{} }
	if err := d.startChild(supervisor.ChildSpec{Name: marketdata.Kind, Core: true, Props: props, Metrics: metrics}); err != nil {
		return err
	}
	return d.router.Add(marketdata.Routes(d.pids[marketdata.Kind])...)
}

// LocalData runs the marketdata actor and a connector built from the
// daemon's config in an actor system of its own, without a daemon
// (superbot data --local): the same actors and methods as in the daemon.
// With the sim endpoint and no base_url it also runs the simulator the
// daemon would, in process, on a free port.
type LocalData struct {
	sys      *actor.ActorSystem
	conn, md *actor.PID
	router   *rpc.Router
	sim      *exchangesim.Exchange
}

// StartLocalData starts the connector (and the simulator it needs) and the
// marketdata actor, and waits up to timeout for the connector to know the
// exchange's limits.
func StartLocalData(cfg *config.Config, log *slog.Logger, timeout time.Duration) (*LocalData, error) {
	l := &LocalData{router: rpc.NewRouter(timeout)}
	cc := cfg.Connector
	if cc.Endpoint == connector.EndpointSim && cc.BaseURL == "" {
		addr := cfg.ExchangeSim.Listen
		if len(simModules(cfg)) > 0 { // the daemon would run it: run it here
			sc := cfg.ExchangeSim
			sc.Listen = "127.0.0.1:0"
			ex, err := exchangesim.New(sc)
			if err == nil {
				err = ex.Start()
			}
			if err != nil {
				return nil, fmt.Errorf("exchange simulator: %w", err)
			}
			l.sim, addr = ex, ex.Addr()
		}
		cc.BaseURL, cc.WSBaseURL = "http://"+addr, "ws://"+addr
	}
	l.sys = actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return log.With("lib", "protoactor") }))
	l.conn = l.sys.Root.Spawn(connector.Props(cc, connector.Deps{Logger: log.With("component", connector.Kind)}))
	dir := DataDir(cfg)
	l.md = l.sys.Root.Spawn(marketdata.Props(cfg.Marketdata, marketdata.Deps{Connector: l.conn, Store: marketdata.OpenStore(dir), Dir: dir,
		Logger: log.With("component", marketdata.Kind)}))
	l.router.MustAdd(marketdata.Routes(l.md)...)
	for deadline := time.Now().Add(timeout); ; {
		res, err := l.sys.Root.RequestFuture(l.conn, &messages.ConnectorStatusRequest{}, timeout).Result()
		if st, ok := res.(*messages.ConnectorStatusResponse); ok && err == nil && st.GetHealth() == "up" {
			return l, nil
		}
		if time.Now().After(deadline) {
			l.Close()
			return nil, fmt.Errorf("the exchange at %s did not answer within %s", cc.BaseURL, timeout)
		}
		time.Sleep(20 * time.Millisecond) //nolint:forbidigo // polling a starting connector from the CLI's goroutine, not an actor
	}
}

// Call calls a data.* method with JSON params and returns the JSON result;
// an error answer is returned as a *messages.Error.
func (l *LocalData) Call(method string, params json.RawMessage) (json.RawMessage, error) {
	p, err := l.router.Call(l.sys.Root, method, params)
	if err != nil {
		return nil, err
	}
	res, err := p.Result()
	if err != nil {
		return nil, err
	}
	if r, ok := res.(messages.Responder); ok && r.GetError() != nil {
		return nil, r.GetError()
	}
	return rpc.Encode(res)
}

// Close stops the actors (a download in progress is canceled: the next one
// resumes after it) and the simulator.
func (l *LocalData) Close() {
	_ = l.sys.Root.StopFuture(l.md).Wait()
	_ = l.sys.Root.StopFuture(l.conn).Wait()
	l.sys.Shutdown()
	if l.sim != nil {
		_ = l.sim.Close()
	}
}
