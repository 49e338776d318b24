package cluster

import (
	"crypto/tls"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"

	"github.com/superbot/superbot/actors/cluster/etcd"
)

// ErrPortTaken is returned by StartRemote when the listen port stayed taken
// through every retry.
var ErrPortTaken = errors.New("cluster: remote listen port taken")

// Keepalive between nodes: a cut-off peer is noticed in about
// keepaliveTime + keepaliveTimeout (gRPC's default is hours).
const (
	keepaliveTime    = time.Second
	keepaliveTimeout = time.Second
)

// HTTP/2 flow-control windows between nodes: the default 64 KiB holds a
// stream of event batches to a window update per round trip.
const (
	streamWindow = 4 << 20
	connWindow   = 8 << 20
	// maxMessage bounds one gRPC message (remote packs up to 1000 of our
	// messages, event batches among them, into one).
	maxMessage = 64 << 20
)

// remoteQueue is the initial length of remote's endpoint queues.
const remoteQueue = 4096

// remoteRetries bounds StartRemote's attempts on a taken port (a
// SIGKILLed predecessor's port stays taken for a moment).
const remoteRetries = 8

// StartRemote starts protoactor's remote (gRPC) on sys at cfg.Listen,
// advertised as cfg.Advertise, with keepalives and cfg.TLS. remote.Start
// panics on a taken port: StartRemote retries with backoff (50 ms doubling,
// 8 attempts, about 6 s in all) and then fails. Call it before spawning
// actors: their PIDs carry the address set here. onRetry, when set, hears
// each failed attempt before the wait. Not on an actor goroutine.
func StartRemote(sys *actor.ActorSystem, cfg Config, onRetry func(err error, wait time.Duration)) (*remote.Remote, error) {
	host, port, err := SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("cluster.listen: %w", err)
	}
	opts, err := remoteOptions(cfg)
	if err != nil {
		return nil, err
	}
	r := remote.NewRemote(sys, remote.Configure(host, port, opts...))
	wait := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := tryStart(r)
		if err == nil {
			return r, nil
		}
		if attempt == remoteRetries {
			return nil, fmt.Errorf("%w: %s: %w", ErrPortTaken, cfg.Listen, err)
		}
		if onRetry != nil {
			onRetry(err, wait)
		}
		<-time.After(wait) // daemon startup, not an actor
		wait *= 2
	}
}

// tryStart turns remote.Start's panic on a taken port into an error.
func tryStart(r *remote.Remote) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%v", p)
		}
	}()
	r.Start()
	return nil
}

func remoteOptions(cfg Config) ([]remote.ConfigOption, error) {
	dial := []grpc.DialOption{
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: keepaliveTime, Timeout: keepaliveTimeout, PermitWithoutStream: true}),
		grpc.WithInitialWindowSize(streamWindow), grpc.WithInitialConnWindowSize(connWindow),
	}
	server := []grpc.ServerOption{
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: keepaliveTime, Timeout: keepaliveTimeout}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: keepaliveTime / 2, PermitWithoutStream: true}),
		grpc.InitialWindowSize(streamWindow), grpc.InitialConnWindowSize(connWindow),
		grpc.MaxRecvMsgSize(maxMessage),
	}
	if cfg.TLS.Enabled() {
		srv, err := cfg.TLS.Load(true)
		if err != nil {
			return nil, fmt.Errorf("cluster.tls.%w", err)
		}
		cli, err := cfg.TLS.Load(false)
		if err != nil {
			return nil, fmt.Errorf("cluster.tls.%w", err)
		}
		dial = append(dial, grpc.WithTransportCredentials(credentials.NewTLS(cli)))
		server = append(server, grpc.Creds(credentials.NewTLS(srv)))
	} else {
		dial = append(dial, grpc.WithTransportCredentials(insecure.NewCredentials()))
	}
	opts := []remote.ConfigOption{
		remote.WithDialOptions(dial...), remote.WithServerOptions(server...),
		// remote's queues start at 1,000,000 slots (16 MB of pointers the
		// GC scans, per peer); they grow when needed.
		remote.WithEndpointWriterQueueSize(remoteQueue), remote.WithEndpointManagerQueueSize(remoteQueue),
	}
	if cfg.Advertise != "" {
		opts = append(opts, remote.WithAdvertisedHost(cfg.Advertise))
	}
	return opts, nil
}

// NewEtcd returns an etcd client for cfg (it does not wait for a
// connection: requests fail until etcd answers). It talks to etcd's JSON
// gateway with TCP keepalives, so that a cut-off etcd is noticed in a few
// seconds.
func NewEtcd(cfg Config) (*etcd.Client, error) {
	var tc *tls.Config
	if cfg.EtcdTLS.Enabled() {
		var err error
		if tc, err = cfg.EtcdTLS.Load(false); err != nil {
			return nil, fmt.Errorf("cluster.etcd_tls.%w", err)
		}
	}
	cli, err := etcd.New(etcd.Config{Endpoints: cfg.Etcd, DialTimeout: cfg.DialTimeout, TLS: tc})
	if err != nil {
		return nil, fmt.Errorf("cluster.etcd: %w", err)
	}
	return cli, nil
}
