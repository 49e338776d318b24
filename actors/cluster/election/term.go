package election

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/actors/cluster/etcd"
)

// term is one campaign: a fresh lease, its keepalive and a campaign on it
// (etcd.Client.Campaign: concurrency's election, same keys). It runs on its
// own goroutine and reports to the actor by message (termWon, termEnded);
// the actor cancels it to end it.
type term struct {
	id     uint64
	cli    *etcd.Client
	key    string
	node   string
	cfg    Config
	guard  *Guard
	proof  *proof
	root   *actor.RootContext
	self   *actor.PID
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	resign bool // set by the actor before cancel: resign on the way out
	// stale are leases of earlier terms whose revoke failed (etcd away):
	// revoked first, so our own old key does not hold up the queue.
	stale []etcd.LeaseID
	mu    sync.Mutex
	ended sync.Once
}

func (t *term) end(reason string) {
	t.ended.Do(func() { t.root.Send(t.self, termEnded{id: t.id, reason: reason}) })
}

func (t *term) setResign() {
	t.mu.Lock()
	t.resign = true
	t.mu.Unlock()
}

func (t *term) wantResign() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.resign
}

// run campaigns until the term is cancelled or its lease is lost.
func (t *term) run() {
	ttl := int64(t.cfg.TTL / time.Second)
	for _, id := range t.stale {
		t.revoke(id)
	}
	gctx, gcancel := context.WithTimeout(t.ctx, t.cfg.TTL)
	granted := t.guard.clock() // before sending: the lease lives at least until then + TTL
	lease, grantedTTL, err := t.cli.Grant(gctx, ttl)
	gcancel()
	if err != nil {
		t.end(fmt.Sprintf("lease grant: %v", err))
		return
	}
	t.proof.extend(t.guard, granted, time.Duration(grantedTTL)*time.Second-t.cfg.Margin)
	// The keepalive lives until cleanup, past t.ctx: renewals come from
	// keepAlive alone and set the failover time (the lease expires TTL
	// after the last one).
	kctx, kcancel := context.WithCancel(context.Background())
	lost := t.keepAlive(kctx, lease, granted)
	defer t.cleanup(kcancel, lease, lost)
	cctx, ccancel := context.WithCancel(t.ctx)
	defer ccancel()
	go func() {
		select {
		case <-lost:
			// Tell the actor now: Campaign's own cleanup can wait for etcd.
			t.end("lease lost while campaigning")
			ccancel()
		case <-cctx.Done():
		}
	}()
	key, rev, err := t.cli.Campaign(cctx, lease, t.key, []byte(t.node))
	if err != nil {
		t.end(fmt.Sprintf("campaign: %v", err))
		return
	}
	if err := t.verify(cctx, key, rev, lease); err != nil {
		t.end(err.Error())
		return
	}
	t.root.Send(t.self, termWon{id: t.id, token: rev})
	deleted := t.cli.Watch(kctx, key, etcd.WatchOptions{FromRev: rev + 1, NoPut: true})
	for {
		select {
		case <-t.ctx.Done():
			if t.wantResign() {
				rctx, rcancel := context.WithTimeout(t.cli.Ctx(), t.cfg.TTL)
				if err := t.cli.Resign(rctx, key, rev); err != nil {
					t.log.Warn("election resign failed", "name", t.key, "error", err)
				}
				rcancel()
			}
			return
		case <-lost:
			t.end("lease lost (expired, or no renewal succeeded for a whole ttl)")
			return
		case wr, ok := <-deleted:
			if !ok {
				deleted = nil // the watch ended (kctx); lost or t.ctx follow
				continue
			}
			if len(wr.Events) > 0 {
				t.end("election key deleted")
				return
			}
		}
	}
}

// keepAlive renews the lease itself (KeepAliveOnce every TTL/3) and
// extends the proof from the instant each request was SENT: the server
// renewed the lease after that instant, so it lives at least until then +
// TTL. (Stamping the answer's arrival would be wrong: a process paused with
// an answer in its socket buffer would, on resuming, extend a lease that
// expired long ago.) The returned channel closes when the lease is gone or
// no renewal succeeded for a whole TTL (or kctx ends).
func (t *term) keepAlive(kctx context.Context, id etcd.LeaseID, granted time.Time) <-chan struct{} {
	lost := make(chan struct{})
	go func() {
		defer close(lost)
		lastOK := granted
		timer := time.NewTimer(0)
		defer timer.Stop()
		for {
			select {
			case <-kctx.Done():
				return
			case <-timer.C:
			}
			sent := t.guard.clock()
			rctx, cancel := context.WithTimeout(kctx, t.cfg.TTL/2)
			ttl, err := t.cli.KeepAliveOnce(rctx, id)
			cancel()
			switch {
			case err == nil:
				lastOK = sent
				t.proof.extend(t.guard, sent, time.Duration(ttl)*time.Second-t.cfg.Margin)
			case errors.Is(err, etcd.ErrLeaseNotFound):
				return // the lease expired
			case t.guard.clock().Sub(lastOK) >= t.cfg.TTL:
				return // no renewal for a whole TTL: the lease is gone
			}
			timer.Reset(t.cfg.TTL / 3)
		}
	}()
	return lost
}

// verify checks that the key Campaign returned with still exists on our
// lease: a campaign that waited through an etcd outage can return after
// its own lease expired.
func (t *term) verify(ctx context.Context, key string, rev int64, id etcd.LeaseID) error {
	vctx, cancel := context.WithTimeout(ctx, t.cfg.TTL)
	defer cancel()
	resp, err := t.cli.Get(vctx, key)
	if err != nil {
		return fmt.Errorf("verify election key: %w", err)
	}
	if len(resp.Kvs) != 1 || resp.Kvs[0].CreateRevision != rev || resp.Kvs[0].Lease != int64(id) {
		return fmt.Errorf("election key %s gone after campaign", key)
	}
	return nil
}

// cleanup stops the keepalive and revokes the lease (deleting our key, so
// a waiting candidate takes over at once); best effort when etcd is away.
func (t *term) cleanup(kcancel context.CancelFunc, id etcd.LeaseID, lost <-chan struct{}) {
	kcancel()
	<-lost
	t.revoke(id)
}

// revoke revokes a lease; when etcd cannot be reached it hands the lease
// back to the actor for the next term.
func (t *term) revoke(id etcd.LeaseID) {
	rctx, rcancel := context.WithTimeout(t.cli.Ctx(), t.cfg.TTL)
	defer rcancel()
	err := t.cli.Revoke(rctx, id)
	if err == nil || errors.Is(err, etcd.ErrLeaseNotFound) {
		return
	}
	t.log.Debug("election lease revoke failed", "name", t.key, "error", err)
	if t.cli.Ctx().Err() == nil {
		t.root.Send(t.self, staleLease{id: id})
	}
}
