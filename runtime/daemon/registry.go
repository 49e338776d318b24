package daemon

import cmap "github.com/orcaman/concurrent-map"

// protoactor's process registry is 1024 concurrent maps of SHARD_COUNT
// (32) locked shards each: 32,768 small maps, ~2.8 MB of the daemon's
// ~8.5 MB live heap before it has spawned anything. One shard per map still
// spreads PIDs over 1024 locks, far more than a daemon's goroutines
// contend for, and brings the daemon with 10 running modules from 21.8-22.9
// to 19.8-20.0 MiB RSS (measured; see the modules issue). It must be set
// before any concurrent map is made and never raised afterwards (a map made
// with fewer shards would then be indexed past its end): package
// initialisation, before any actor system exists, is the one place.
func init() { cmap.SHARD_COUNT = 1 }
