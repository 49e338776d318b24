package config

import "fmt"

// ResourceAllocation is [daemon.resource_allocation]: the seed's thread
// pools, as limits on the daemon's goroutines.
type ResourceAllocation struct {
	// ThreadPools are [daemon.resource_allocation.thread_pools].
	ThreadPools ThreadPools `toml:"thread_pools"`
}

// ThreadPools are the seed's three pools; each bounds a kind of work:
//
//   - default: the backtest jobs in flight at once (each one goroutine that
//     loads bars and writes reports). Default 10.
//   - io: the connector's goroutines doing blocking exchange calls: the
//     connector runs min(connector.io_workers, io.max_workers). Default 20.
//   - cpu: the goroutines running the backtest engine (backtests and sweep
//     workers), across all jobs. The daemon uses at most runtime.NumCPU()
//     of them (more would only time-slice the same cores). Default 4.
type ThreadPools struct {
	Default Pool `toml:"default"`
	IO      Pool `toml:"io"`
	CPU     Pool `toml:"cpu"`
}

// Pool is one thread pool.
type Pool struct {
	// MaxWorkers is the most goroutines of the pool, in [1, 1024].
	MaxWorkers int `toml:"max_workers"`
}

// DefaultResourceAllocation returns the seed's pools: default 10, io 20,
// cpu 4.
func DefaultResourceAllocation() ResourceAllocation {
	return ResourceAllocation{ThreadPools: ThreadPools{Default: Pool{MaxWorkers: 10}, IO: Pool{MaxWorkers: 20}, CPU: Pool{MaxWorkers: 4}}}
}

// Validate checks max_workers.
func (p Pool) Validate() error {
	if p.MaxWorkers < 1 || p.MaxWorkers > 1024 {
		return fmt.Errorf("max_workers: must be in [1, 1024], got %d", p.MaxWorkers)
	}
	return nil
}
