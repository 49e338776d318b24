package cluster

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/actors/cluster/etcd"
	"github.com/superbot/superbot/messages"
)

// link is the cluster actor's goroutine facing etcd (all of it runs off
// the actor goroutine): it keeps this node's record under a lease, watches
// every node's record, and tells the actor by message (linkUp, memberPut,
// memberGone, linkDown). The actor hands it the latest record with put.
type link struct {
	cli    *etcd.Client
	prefix string // members' key prefix, e.g. "/superbot/members/"
	key    string // this node's key
	ttl    int64  // seconds
	op     time.Duration
	root   *actor.RootContext
	self   *actor.PID
	put    chan []byte // the latest record; a newer one replaces an unsent one
	cancel context.CancelFunc
	done   chan struct{}
}

// Messages the link sends the actor.
type (
	// linkUp: registered under a fresh lease; members is every record.
	linkUp struct {
		members map[string]*messages.ClusterMember
	}
	// linkDown: the lease or the watch is lost; the link retries.
	linkDown struct{ err error }
	// memberPut: a node's record was written.
	memberPut struct{ m *messages.ClusterMember }
	// memberGone: a node's record is gone (deleted or its lease expired).
	memberGone struct{ node string }
)

func startLink(cli *etcd.Client, cfg Config, node string, root *actor.RootContext, self *actor.PID, record []byte) *link {
	ctx, cancel := context.WithCancel(context.Background())
	l := &link{
		cli: cli, prefix: cfg.KeyPrefix + "members/", ttl: int64(cfg.LeaseTTL / time.Second), op: cfg.DialTimeout,
		root: root, self: self, put: make(chan []byte, 1), cancel: cancel, done: make(chan struct{}),
	}
	l.key = l.prefix + node
	l.put <- record
	go l.run(ctx)
	return l
}

// update hands the link a newer record (never blocks).
func (l *link) update(record []byte) {
	for {
		select {
		case l.put <- record:
			return
		default:
		}
		select {
		case <-l.put: // drop the unsent older record
		default:
		}
	}
}

// stop revokes the lease (this node leaves at once) and waits for the
// goroutine, at most the etcd request timeout.
func (l *link) stop() {
	l.cancel()
	<-l.done
}

func (l *link) run(ctx context.Context) {
	defer close(l.done)
	var record []byte
	wait := 100 * time.Millisecond
	for ctx.Err() == nil {
		select {
		case record = <-l.put:
		default:
		}
		err := l.session(ctx, &record)
		if ctx.Err() != nil {
			return
		}
		l.root.Send(l.self, &linkDown{err: err})
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(wait*2, time.Second)
	}
}

// session registers under one lease and follows the registry until the
// lease, the watch or ctx ends.
func (l *link) session(ctx context.Context, record *[]byte) error {
	gctx, cancel := context.WithTimeout(ctx, l.op)
	lease, ttl, err := l.cli.Grant(gctx, l.ttl)
	cancel()
	if err != nil {
		return err
	}
	defer l.revoke(lease)
	kctx, kcancel := context.WithCancel(ctx)
	defer kcancel()
	ka := l.cli.KeepAlive(kctx, lease, time.Duration(ttl)*time.Second)
	if err := l.write(ctx, lease, *record); err != nil {
		return err
	}
	rctx, rcancel := context.WithTimeout(ctx, l.op)
	res, err := l.cli.GetPrefix(rctx, l.prefix)
	rcancel()
	if err != nil {
		return err
	}
	all := map[string]*messages.ClusterMember{}
	for _, kv := range res.Kvs {
		if m := l.decode(kv.Key, kv.Value); m != nil {
			all[m.Node] = m
		}
	}
	l.root.Send(l.self, &linkUp{members: all})
	wctx, wcancel := context.WithCancel(ctx)
	defer wcancel()
	wch := l.cli.Watch(wctx, l.prefix, etcd.WatchOptions{Prefix: true, FromRev: res.Revision + 1})
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ka:
			return errLeaseLost
		case r := <-l.put:
			*record = r
			if err := l.write(ctx, lease, r); err != nil {
				return err
			}
		case wr, ok := <-wch:
			if !ok {
				return errWatchLost
			}
			if wr.Err != nil {
				return wr.Err
			}
			l.apply(wr.Events)
		}
	}
}

func (l *link) apply(evs []etcd.Event) {
	for _, ev := range evs {
		if ev.Type == etcd.EventDelete {
			l.root.Send(l.self, &memberGone{node: strings.TrimPrefix(string(ev.Kv.Key), l.prefix)})
			continue
		}
		if m := l.decode(ev.Kv.Key, ev.Kv.Value); m != nil {
			l.root.Send(l.self, &memberPut{m: m})
		}
	}
}

func (l *link) write(ctx context.Context, lease etcd.LeaseID, record []byte) error {
	pctx, cancel := context.WithTimeout(ctx, l.op)
	defer cancel()
	_, err := l.cli.Put(pctx, l.key, record, lease)
	return err
}

// revoke ends the lease, so that this node leaves at once rather than
// after its TTL (best effort: on a lost etcd the lease expires anyway).
func (l *link) revoke(id etcd.LeaseID) {
	ctx, cancel := context.WithTimeout(context.Background(), l.op)
	defer cancel()
	_ = l.cli.Revoke(ctx, id)
}

// Why a session ended.
var (
	errLeaseLost = errors.New("cluster: etcd lease lost")
	errWatchLost = errors.New("cluster: etcd watch closed")
)

// maxRecordBytes bounds a member record read from etcd.
const maxRecordBytes = 1 << 20

// decode reads a record; one that does not decode, is too large or names
// another key's node is ignored.
func (l *link) decode(key, value []byte) *messages.ClusterMember {
	if len(value) > maxRecordBytes {
		return nil
	}
	m := &messages.ClusterMember{}
	if err := proto.Unmarshal(value, m); err != nil || l.prefix+m.Node != string(key) {
		return nil
	}
	return m
}
