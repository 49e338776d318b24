package bus

import "github.com/asynkron/protoactor-go/actor"

// CreditsOf counts the local subscribers' ack credits kept for sys.
func CreditsOf(sys *actor.ActorSystem) int {
	n := 0
	credits.Range(func(k, _ any) bool {
		if k.(creditKey).sys == sys {
			n++
		}
		return true
	})
	return n
}
