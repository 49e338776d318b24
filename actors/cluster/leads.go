package cluster

import (
	"strings"
	"sync"

	"github.com/superbot/superbot/actors/cluster/election"
)

// Leads is the set of singletons this node leads. The actor that leads
// one sets it; the cluster actor publishes it in the node's record, so
// that every node's relay sends the singleton's calls to its leader. Safe
// for concurrent use; the zero value is not: use NewLeads.
type Leads struct {
	mu     sync.Mutex
	set    map[string]bool
	notify func()
}

// NewLeads returns an empty set.
func NewLeads() *Leads { return &Leads{set: map[string]bool{}} }

// Set records whether this node leads singleton.
func (l *Leads) Set(singleton string, leading bool) {
	l.mu.Lock()
	changed := l.set[singleton] != leading
	if leading {
		l.set[singleton] = true
	} else {
		delete(l.set, singleton)
	}
	notify := l.notify
	l.mu.Unlock()
	if changed && notify != nil {
		notify()
	}
}

// list returns the singletons led, sorted.
func (l *Leads) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return sortedKeys(l.set)
}

// watch sets the function called after each change (nil: none).
func (l *Leads) watch(f func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.notify = f
}

// singletonOf names the singleton whose leader answers method ("": none).
func singletonOf(method string) string {
	if strings.HasPrefix(method, election.Trading+".") {
		return election.Trading
	}
	return ""
}
