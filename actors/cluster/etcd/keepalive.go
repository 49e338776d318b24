package etcd

import (
	"context"
	"errors"
	"time"
)

// KeepAlive renews the lease of ttl every ttl/3 (KeepAliveOnce) until ctx
// ends. The returned channel closes when ctx ends, the lease is gone, or no
// renewal succeeded for a whole ttl (the lease has then expired).
func (c *Client) KeepAlive(ctx context.Context, id LeaseID, ttl time.Duration) <-chan struct{} {
	lost := make(chan struct{})
	go func() {
		defer close(lost)
		lastOK := time.Now()
		every := ttl / 3
		timer := time.NewTimer(every)
		defer timer.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
			sent := time.Now()
			rctx, cancel := context.WithTimeout(ctx, every)
			_, err := c.KeepAliveOnce(rctx, id)
			cancel()
			switch {
			case err == nil:
				lastOK = sent
			case errors.Is(err, ErrLeaseNotFound):
				return
			case time.Since(lastOK) >= ttl:
				return
			}
			timer.Reset(every)
		}
	}()
	return lost
}
