package bus

import (
	"slices"

	"github.com/asynkron/protoactor-go/actor"
)

// WatchPatterns asks the bus to tell Watcher this node's own subscription
// patterns (relay subscribers left out): a *Patterns now, and another each
// time the set changes. The cluster actor sends it, to keep the node's
// patterns in the registry. Local only; a watcher that dies is forgotten.
type WatchPatterns struct {
	Watcher *actor.PID
}

// Patterns is what the bus tells a WatchPatterns watcher: the distinct
// patterns of the node's own subscribers, sorted.
type Patterns struct {
	List []string
}

func (a *busActor) onWatchPatterns(ctx actor.Context, msg *WatchPatterns) {
	if msg.Watcher == nil {
		return
	}
	a.unwatchPatterns(msg.Watcher)
	a.watchers = append(a.watchers, msg.Watcher)
	ctx.Watch(msg.Watcher)
	ctx.Send(msg.Watcher, &Patterns{List: a.localPatterns()})
}

func (a *busActor) unwatchPatterns(pid *actor.PID) {
	a.watchers = slices.DeleteFunc(a.watchers, func(w *actor.PID) bool { return w.Equal(pid) })
}

// tellPatterns tells the watchers the local patterns when they changed.
func (a *busActor) tellPatterns(ctx actor.Context) {
	if len(a.watchers) == 0 {
		return
	}
	list := a.localPatterns()
	if slices.Equal(list, a.watched) {
		return
	}
	a.watched = list
	for _, w := range a.watchers {
		ctx.Send(w, &Patterns{List: list})
	}
}

func (a *busActor) localPatterns() []string {
	out := []string{}
	for _, p := range a.patterns {
		if p.subscribers > p.relays {
			out = append(out, p.pattern)
		}
	}
	slices.Sort(out)
	return out
}
