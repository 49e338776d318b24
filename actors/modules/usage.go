package modules

import (
	"bytes"
	"os"
	"strconv"
	"sync"
	"time"
)

// usageInterval is how often the module process trees are sampled.
const usageInterval = time.Second

// clockTicks is the kernel's USER_HZ, the unit of /proc/PID/stat's times
// (100 on every Linux ABI Go supports).
const clockTicks = 100

// treeUsage is what a module's process tree used in the last interval.
type treeUsage struct {
	cpuPercent float64 // of one CPU
	rssBytes   uint64
}

// usageSampler samples the CPU and RSS of every running module's process
// tree: the leader, its process group and all their descendants. One
// goroutine reads /proc every usageInterval while any module process runs,
// and publishes the figures for module.list and module.status to read
// without blocking (usageOf).
type usageSampler struct {
	mu      sync.Mutex
	leaders map[int]bool
	last    map[int]treeUsage // by leader
	stop    chan struct{}     // closed to end the goroutine; nil when none runs
}

// lastSample is a sampler goroutine's own state (an ending goroutine may
// still finish a sample while the next one starts).
type lastSample struct {
	ticks map[procKey]uint64 // CPU ticks of each tree process
	at    time.Time
}

// procKey names a process across PID reuse.
type procKey struct {
	pid   int
	start uint64 // start time, in clock ticks since boot
}

var usage = &usageSampler{leaders: map[int]bool{}, last: map[int]treeUsage{}}

// watch starts sampling the tree of leader (a module process just started).
func (u *usageSampler) watch(leader int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.leaders[leader] = true
	if u.stop == nil {
		u.stop = make(chan struct{})
		go u.run(u.stop)
	}
}

// unwatch stops sampling leader's tree (the process has exited).
func (u *usageSampler) unwatch(leader int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	delete(u.leaders, leader)
	delete(u.last, leader)
	if len(u.leaders) == 0 && u.stop != nil {
		close(u.stop)
		u.stop = nil
	}
}

// usageOf returns the last sample of leader's tree (zero before the first).
func (u *usageSampler) usageOf(leader int) treeUsage {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.last[leader]
}

// run is the sampler goroutine. It reads /proc off every actor goroutine.
func (u *usageSampler) run(stop <-chan struct{}) {
	t := time.NewTicker(usageInterval)
	defer t.Stop()
	var prev lastSample // the first sample comes an interval after a start: a start pays nothing for it
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			u.sample(&prev)
		}
	}
}

// sample reads every process's stat once and sums each tree; prev is the
// last sample, replaced by this one.
func (u *usageSampler) sample(prev *lastSample) {
	u.mu.Lock()
	leaders := make([]int, 0, len(u.leaders))
	for l := range u.leaders {
		leaders = append(leaders, l)
	}
	u.mu.Unlock()
	procs := readProcs()
	now := time.Now()
	children := map[int][]int{}
	groups := map[int][]int{}
	for pid, p := range procs {
		children[p.ppid] = append(children[p.ppid], pid)
		groups[p.pgrp] = append(groups[p.pgrp], pid)
	}
	secs := now.Sub(prev.at).Seconds()
	next := map[procKey]uint64{}
	out := make(map[int]treeUsage, len(leaders))
	for _, l := range leaders {
		var tu treeUsage
		var ticks uint64
		for _, pid := range tree(l, children, groups) {
			p := procs[pid]
			k := procKey{pid, p.start}
			next[k] = p.ticks
			tu.rssBytes += p.rss
			if before, ok := prev.ticks[k]; ok && p.ticks >= before {
				ticks += p.ticks - before
			} else if !ok && !prev.at.IsZero() {
				ticks += p.ticks // started since the last sample
			}
		}
		if !prev.at.IsZero() && secs > 0 {
			tu.cpuPercent = float64(ticks) / clockTicks / secs * 100
		}
		out[l] = tu
	}
	*prev = lastSample{ticks: next, at: now}
	u.mu.Lock()
	for l, tu := range out {
		if u.leaders[l] {
			u.last[l] = tu
		}
	}
	u.mu.Unlock()
}

// tree returns leader, the members of its process group and all their
// descendants.
func tree(leader int, children, groups map[int][]int) []int {
	seen := map[int]bool{}
	var out []int
	queue := append([]int{leader}, groups[leader]...)
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		if seen[pid] {
			continue
		}
		seen[pid] = true
		out = append(out, pid)
		queue = append(queue, children[pid]...)
	}
	return out
}

// procStat is what the sampler reads of one process.
type procStat struct {
	ppid, pgrp int
	ticks      uint64 // utime + stime
	start      uint64
	rss        uint64 // bytes
}

var pageSize = uint64(os.Getpagesize())

// readProcs reads /proc/PID/stat of every process; a process that ends
// meanwhile is left out. The leader itself is missing once reaped.
func readProcs() map[int]procStat {
	out := map[int]procStat{}
	d, err := os.Open("/proc")
	if err != nil {
		return out
	}
	names, _ := d.Readdirnames(-1)
	_ = d.Close()
	for _, n := range names {
		pid, err := strconv.Atoi(n)
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + n + "/stat")
		if err != nil {
			continue
		}
		if p, ok := parseStat(b); ok {
			out[pid] = p
		}
	}
	return out
}

// parseStat parses /proc/PID/stat (see proc(5)); the fields are counted
// from the one after the command's closing parenthesis (field 3, state).
func parseStat(b []byte) (procStat, bool) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, false
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 22 {
		return procStat{}, false
	}
	num := func(j int) uint64 {
		n, _ := strconv.ParseUint(string(f[j]), 10, 64)
		return n
	}
	return procStat{
		ppid:  int(num(1)),        // field 4
		pgrp:  int(num(2)),        // field 5
		ticks: num(11) + num(12),  // fields 14 and 15: utime, stime
		start: num(19),            // field 22
		rss:   num(21) * pageSize, // field 24, in pages
	}, true
}
