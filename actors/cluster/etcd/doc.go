// Package etcd is a small client for etcd's v3 API over its JSON gateway
// (plain HTTP/1.1 at /v3/..., served by etcd 3.4 and later). It has only
// what the cluster and the election use: leases, put/get/delete, a txn,
// watches and the concurrency-package election. It replaces
// go.etcd.io/etcd/client/v3, whose gRPC stack, protos and zap cost every
// daemon megabytes of RSS; net/http is linked anyway.
package etcd
