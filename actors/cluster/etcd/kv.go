package etcd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// LeaseID names a lease.
type LeaseID int64

// KeyValue is a key's state.
type KeyValue struct {
	Key            []byte
	Value          []byte
	CreateRevision int64
	ModRevision    int64
	Version        int64
	// Lease is the key's lease (0: none).
	Lease int64
}

// UnmarshalJSON reads etcd's proto3 JSON KeyValue.
func (kv *KeyValue) UnmarshalJSON(b []byte) error {
	var j struct {
		Key            []byte `json:"key"`
		Value          []byte `json:"value"`
		CreateRevision i64    `json:"create_revision"`
		ModRevision    i64    `json:"mod_revision"`
		Version        i64    `json:"version"`
		Lease          i64    `json:"lease"`
	}
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*kv = KeyValue{
		Key: j.Key, Value: j.Value, CreateRevision: int64(j.CreateRevision), ModRevision: int64(j.ModRevision),
		Version: int64(j.Version), Lease: int64(j.Lease),
	}
	return nil
}

// GetResponse is what Get and GetPrefix answer.
type GetResponse struct {
	// Revision is the store's revision when etcd answered.
	Revision int64
	// Kvs are the keys found, in key order.
	Kvs []KeyValue
}

// Grant creates a lease of ttl seconds and answers its id and the TTL etcd
// granted.
func (c *Client) Grant(ctx context.Context, ttl int64) (LeaseID, int64, error) {
	var resp struct {
		ID  i64 `json:"ID"`
		TTL i64 `json:"TTL"`
	}
	if err := c.post(ctx, "/v3/lease/grant", map[string]i64{"TTL": i64(ttl)}, &resp); err != nil {
		return 0, 0, err
	}
	if resp.ID == 0 || resp.TTL <= 0 {
		return 0, 0, fmt.Errorf("etcd: lease grant answered id %d ttl %d", resp.ID, resp.TTL)
	}
	return LeaseID(resp.ID), int64(resp.TTL), nil
}

// KeepAliveOnce renews the lease once and answers its TTL. A lease that is
// gone answers ErrLeaseNotFound.
func (c *Client) KeepAliveOnce(ctx context.Context, id LeaseID) (int64, error) {
	var resp struct {
		Result *struct {
			TTL i64 `json:"TTL"`
		} `json:"result"`
	}
	if err := c.post(ctx, "/v3/lease/keepalive", map[string]i64{"ID": i64(id)}, &resp); err != nil {
		return 0, err
	}
	if resp.Result == nil {
		return 0, errors.New("etcd: lease keepalive answered no result")
	}
	if resp.Result.TTL <= 0 {
		return 0, ErrLeaseNotFound
	}
	return int64(resp.Result.TTL), nil
}

// Revoke ends the lease and deletes its keys.
func (c *Client) Revoke(ctx context.Context, id LeaseID) error {
	var resp struct{}
	return c.post(ctx, "/v3/lease/revoke", map[string]i64{"ID": i64(id)}, &resp)
}

// putRequest is etcd's PutRequest.
type putRequest struct {
	Key   []byte `json:"key"`
	Value []byte `json:"value,omitempty"`
	Lease i64    `json:"lease,omitempty"`
}

// Put writes key = value, attached to lease (0: none), and answers the
// store's revision after the write.
func (c *Client) Put(ctx context.Context, key string, value []byte, lease LeaseID) (int64, error) {
	var resp struct {
		Header header `json:"header"`
	}
	if err := c.post(ctx, "/v3/kv/put", putRequest{Key: []byte(key), Value: value, Lease: i64(lease)}, &resp); err != nil {
		return 0, err
	}
	return int64(resp.Header.Revision), nil
}

// rangeRequest is etcd's RangeRequest (the fields used).
type rangeRequest struct {
	Key               []byte `json:"key"`
	RangeEnd          []byte `json:"range_end,omitempty"`
	Limit             i64    `json:"limit,omitempty"`
	SortOrder         string `json:"sort_order,omitempty"`
	SortTarget        string `json:"sort_target,omitempty"`
	MaxCreateRevision i64    `json:"max_create_revision,omitempty"`
}

type rangeResponse struct {
	Header header     `json:"header"`
	Kvs    []KeyValue `json:"kvs"`
}

func (r rangeResponse) get() *GetResponse {
	return &GetResponse{Revision: int64(r.Header.Revision), Kvs: r.Kvs}
}

// Get reads one key.
func (c *Client) Get(ctx context.Context, key string) (*GetResponse, error) {
	return c.rangeOf(ctx, rangeRequest{Key: []byte(key)})
}

// GetPrefix reads every key under prefix.
func (c *Client) GetPrefix(ctx context.Context, prefix string) (*GetResponse, error) {
	return c.rangeOf(ctx, rangeRequest{Key: []byte(prefix), RangeEnd: prefixEnd(prefix)})
}

func (c *Client) rangeOf(ctx context.Context, req rangeRequest) (*GetResponse, error) {
	var resp rangeResponse
	if err := c.post(ctx, "/v3/kv/range", req, &resp); err != nil {
		return nil, err
	}
	return resp.get(), nil
}

// Delete deletes key and answers how many keys went.
func (c *Client) Delete(ctx context.Context, key string) (int64, error) {
	var resp struct {
		Deleted i64 `json:"deleted"`
	}
	if err := c.post(ctx, "/v3/kv/deleterange", map[string][]byte{"key": []byte(key)}, &resp); err != nil {
		return 0, err
	}
	return int64(resp.Deleted), nil
}

// prefixEnd is the range end covering every key starting with prefix.
func prefixEnd(prefix string) []byte {
	end := []byte(prefix)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return []byte{0} // every key
}

// compare is etcd's Compare on a key's create revision.
type compare struct {
	Key            []byte `json:"key"`
	Target         string `json:"target"`
	Result         string `json:"result"`
	CreateRevision i64    `json:"create_revision"`
}

// requestOp is etcd's RequestOp (the operations used).
type requestOp struct {
	Put         *putRequest   `json:"request_put,omitempty"`
	Range       *rangeRequest `json:"request_range,omitempty"`
	DeleteRange *rangeRequest `json:"request_delete_range,omitempty"`
}

type txnRequest struct {
	Compare []compare   `json:"compare"`
	Success []requestOp `json:"success,omitempty"`
	Failure []requestOp `json:"failure,omitempty"`
}

type txnResponse struct {
	Header    header `json:"header"`
	Succeeded bool   `json:"succeeded"`
	Responses []struct {
		Range *rangeResponse `json:"response_range"`
	} `json:"responses"`
}

// createRevIs compares key's create revision with rev (0: absent).
func createRevIs(key string, rev int64) compare {
	return compare{Key: []byte(key), Target: "CREATE", Result: "EQUAL", CreateRevision: i64(rev)}
}

func (c *Client) txn(ctx context.Context, req txnRequest) (*txnResponse, error) {
	var resp txnResponse
	if err := c.post(ctx, "/v3/kv/txn", req, &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}

// DeleteIfCreated deletes key if its create revision is rev (the key was
// not deleted and created again since) and answers whether it did.
func (c *Client) DeleteIfCreated(ctx context.Context, key string, rev int64) (bool, error) {
	resp, err := c.txn(ctx, txnRequest{
		Compare: []compare{createRevIs(key, rev)},
		Success: []requestOp{{DeleteRange: &rangeRequest{Key: []byte(key)}}},
	})
	if err != nil {
		return false, err
	}
	return resp.Succeeded, nil
}
