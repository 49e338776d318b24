// Package cluster is the cluster actor: it joins superbotd nodes into one
// system over protoactor's remote (gRPC, protobuf only) and etcd.
//
// It registers its node in etcd under a lease (address, version, the
// modules it defines, load) and watches every node's record; it keeps this
// node's bus subscription patterns in etcd under the same lease and runs one
// forwarding actor per remote node with subscribers, which subscribes on the
// local bus to that node's patterns and sends what matches, in order and in
// batches, to that node's cluster actor; and it relays control calls (a
// "node" param, or a module another node defines) to the node that answers
// them. A single node runs none of this. See README.md.
package cluster
