package etcd

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// resignTimeout bounds the deletion of our key when a campaign is
// cancelled (the lease's expiry deletes it anyway).
const resignTimeout = 5 * time.Second

// Campaign runs for leader of the election prefix, as
// go.etcd.io/etcd/client/v3/concurrency's Election.Campaign does (same key
// layout): it creates prefix + "/" + the lease id in hex with value, on
// lease, unless it exists; then it waits until every key under the prefix
// with a lower create revision is deleted. It answers our key and its
// create revision (the fencing token). When ctx ends first, it deletes our
// key (best effort) and answers ctx's error.
func (c *Client) Campaign(ctx context.Context, lease LeaseID, prefix string, value []byte) (string, int64, error) {
	key := fmt.Sprintf("%s/%x", prefix, int64(lease))
	resp, err := c.txn(ctx, txnRequest{
		Compare: []compare{createRevIs(key, 0)},
		Success: []requestOp{{Put: &putRequest{Key: []byte(key), Value: value, Lease: i64(lease)}}},
		Failure: []requestOp{{Range: &rangeRequest{Key: []byte(key)}}},
	})
	if err != nil {
		return "", 0, err
	}
	rev := int64(resp.Header.Revision)
	if !resp.Succeeded {
		kv, err := resp.only()
		if err != nil {
			return "", 0, err
		}
		rev = kv.CreateRevision
		if string(kv.Value) != string(value) {
			if err := c.proclaim(ctx, key, rev, lease, value); err != nil {
				c.resignAfter(key, rev)
				return "", 0, err
			}
		}
	}
	if err := c.waitDeletes(ctx, prefix+"/", rev-1); err != nil {
		if ctx.Err() != nil {
			c.resignAfter(key, rev)
		}
		return "", 0, err
	}
	return key, rev, nil
}

// only is the single key a failed create-if-absent txn read.
func (r *txnResponse) only() (KeyValue, error) {
	if len(r.Responses) != 1 || r.Responses[0].Range == nil || len(r.Responses[0].Range.Kvs) != 1 {
		return KeyValue{}, errors.New("etcd: campaign txn answered no key")
	}
	return r.Responses[0].Range.Kvs[0], nil
}

// proclaim rewrites our key's value (a campaign on the same lease again).
func (c *Client) proclaim(ctx context.Context, key string, rev int64, lease LeaseID, value []byte) error {
	resp, err := c.txn(ctx, txnRequest{
		Compare: []compare{createRevIs(key, rev)},
		Success: []requestOp{{Put: &putRequest{Key: []byte(key), Value: value, Lease: i64(lease)}}},
	})
	if err != nil {
		return err
	}
	if !resp.Succeeded {
		return errors.New("etcd: election key changed while campaigning")
	}
	return nil
}

// Resign deletes our election key if it is still the one created at rev,
// so that the next candidate leads at once.
func (c *Client) Resign(ctx context.Context, key string, rev int64) error {
	_, err := c.DeleteIfCreated(ctx, key, rev)
	return err
}

// resignAfter resigns on the client's lifetime, for a cancelled campaign.
func (c *Client) resignAfter(key string, rev int64) {
	ctx, cancel := context.WithTimeout(c.ctx, resignTimeout)
	defer cancel()
	_ = c.Resign(ctx, key, rev)
}

// waitDeletes waits until no key under pfx has a create revision up to
// maxRev: it watches the newest such key until it is deleted, and again.
func (c *Client) waitDeletes(ctx context.Context, pfx string, maxRev int64) error {
	for {
		var resp rangeResponse
		req := rangeRequest{
			Key: []byte(pfx), RangeEnd: prefixEnd(pfx), Limit: 1,
			SortOrder: "DESCEND", SortTarget: "CREATE", MaxCreateRevision: i64(maxRev),
		}
		if err := c.post(ctx, "/v3/kv/range", req, &resp); err != nil {
			return err
		}
		if len(resp.Kvs) == 0 {
			return nil
		}
		if err := c.waitDelete(ctx, string(resp.Kvs[0].Key), int64(resp.Header.Revision)); err != nil {
			return err
		}
	}
}

// waitDelete waits for key's deletion, watching from rev.
func (c *Client) waitDelete(ctx context.Context, key string, rev int64) error {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for wr := range c.Watch(wctx, key, WatchOptions{FromRev: rev, NoPut: true}) {
		if wr.Err != nil {
			return wr.Err
		}
		if len(wr.Events) > 0 {
			return nil
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return errors.New("etcd: lost watch waiting for delete")
}

// Leader returns the value of the election's leader key (the first created
// under prefix + "/"), and false when nobody campaigns.
func (c *Client) Leader(ctx context.Context, prefix string) ([]byte, bool, error) {
	pfx := prefix + "/"
	var resp rangeResponse
	req := rangeRequest{Key: []byte(pfx), RangeEnd: prefixEnd(pfx), Limit: 1, SortOrder: "ASCEND", SortTarget: "CREATE"}
	if err := c.post(ctx, "/v3/kv/range", req, &resp); err != nil {
		return nil, false, err
	}
	if len(resp.Kvs) == 0 {
		return nil, false, nil
	}
	return resp.Kvs[0].Value, true, nil
}
