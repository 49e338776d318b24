package supervisor

import (
	"runtime"
	"sync"

	"github.com/asynkron/protoactor-go/actor"
)

// The root's mailbox runs its turn on the goroutine that posts to it, for a
// few messages. Every root handler is short and never blocks, so a JSON-RPC
// connection that asks for daemon.status runs the root itself and finds the
// answer ready when it looks: no goroutine hand-off each way (each a thread
// wake-up, often on the other CPU), which cost more than the call.
//
// Unlike protoactor's synchronized dispatcher, which keeps the posting
// goroutine until the mailbox is empty (under steady load: for ever, and a
// child reporting to the root would be held with it), a poster handles at
// most inlineBudget user messages; the rest go on on a goroutine of the
// mailbox's own, as with the default mailbox. Messages still run one at a
// time and in order; system messages first; a panic escalates as usual.
const (
	inlineBudget     = 4   // user messages a posting goroutine handles
	goroutineYieldAt = 300 // messages between yields on the mailbox's goroutine
)

type inlineMailbox struct {
	mu        sync.Mutex
	sys, user queue
	running   bool // a goroutine is in process
	suspended bool // between SuspendMailbox and ResumeMailbox
	invoker   actor.MessageInvoker
}

func newInlineMailbox() actor.Mailbox { return &inlineMailbox{} }

func (m *inlineMailbox) PostUserMessage(msg any)   { m.post(&m.user, msg) }
func (m *inlineMailbox) PostSystemMessage(msg any) { m.post(&m.sys, msg) }

func (m *inlineMailbox) RegisterHandlers(invoker actor.MessageInvoker, _ actor.Dispatcher) {
	m.invoker = invoker
}

func (m *inlineMailbox) Start() {}

func (m *inlineMailbox) UserMessageCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.user.len()
}

func (m *inlineMailbox) post(q *queue, msg any) {
	m.mu.Lock()
	q.push(msg)
	start := !m.running
	m.running = true
	m.mu.Unlock()
	if start {
		m.process(inlineBudget)
	}
}

// process runs messages until the mailbox is idle or, with a budget, until
// budget user messages ran; then it hands on to a new goroutine.
func (m *inlineMailbox) process(budget int) {
	for {
		switch m.run(&budget) {
		case idle:
			return
		case handOff:
			go m.process(-1)
			return
		}
		// a recovered panic: go on (its SuspendMailbox is queued)
	}
}

type outcome int

const (
	idle outcome = iota
	handOff
	panicked
)

func (m *inlineMailbox) run(budget *int) (out outcome) {
	var msg any
	defer func() {
		if r := recover(); r != nil {
			m.invoker.EscalateFailure(r, msg)
			out = panicked
		}
	}()
	for n := 0; ; n++ {
		m.mu.Lock()
		if m.sys.len() > 0 {
			msg = m.sys.pop()
			switch msg.(type) {
			case *actor.SuspendMailbox:
				m.suspended = true
				m.mu.Unlock()
			case *actor.ResumeMailbox:
				m.suspended = false
				m.mu.Unlock()
			default:
				m.mu.Unlock()
				m.invoker.InvokeSystemMessage(msg)
			}
			continue
		}
		if m.suspended || m.user.len() == 0 {
			m.running = false
			m.mu.Unlock()
			return idle
		}
		if *budget == 0 {
			m.mu.Unlock()
			return handOff // still running: the new goroutine takes over
		}
		msg = m.user.pop()
		m.mu.Unlock()
		if *budget > 0 {
			*budget--
		} else if n%goroutineYieldAt == goroutineYieldAt-1 {
			runtime.Gosched()
		}
		m.invoker.InvokeUserMessage(msg)
	}
}

// queue is a FIFO of messages.
type queue struct {
	items []any
	head  int
}

func (q *queue) len() int { return len(q.items) - q.head }

func (q *queue) push(v any) {
	if q.head > 32 && q.head*2 >= len(q.items) { // mostly consumed: move the rest down
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	q.items = append(q.items, v)
}

func (q *queue) pop() any {
	v := q.items[q.head]
	q.items[q.head] = nil
	q.head++
	return v
}
