package supervisor

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// fakeInvoker records what the mailbox hands it.
type fakeInvoker struct {
	mu        sync.Mutex
	user      []any
	escalated []any
	inFlight  atomic.Int32
	overlap   atomic.Bool
	onUser    func(msg any)
}

func (f *fakeInvoker) InvokeSystemMessage(any) {}
func (f *fakeInvoker) InvokeUserMessage(msg any) {
	if f.inFlight.Add(1) > 1 {
		f.overlap.Store(true)
	}
	defer f.inFlight.Add(-1)
	f.mu.Lock()
	f.user = append(f.user, msg)
	f.mu.Unlock()
	if f.onUser != nil {
		f.onUser(msg)
	}
}
func (f *fakeInvoker) EscalateFailure(_ any, msg any) {
	f.mu.Lock()
	f.escalated = append(f.escalated, msg)
	f.mu.Unlock()
}

func (f *fakeInvoker) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.user)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

type seqMsg struct{ from, n int }

func TestInlineMailboxOneAtATimeInOrder(t *testing.T) {
	inv := &fakeInvoker{}
	m := newInlineMailbox()
	m.RegisterHandlers(inv, nil)
	const senders, each = 8, 2000
	var wg sync.WaitGroup
	for s := 0; s < senders; s++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				m.PostUserMessage(seqMsg{s, i})
			}
		}()
	}
	wg.Wait()
	waitFor(t, "every message", func() bool { return inv.count() == senders*each })
	if inv.overlap.Load() {
		t.Fatal("two messages were handled at the same time")
	}
	next := make([]int, senders)
	inv.mu.Lock()
	defer inv.mu.Unlock()
	for _, msg := range inv.user {
		sm := msg.(seqMsg)
		if sm.n != next[sm.from] {
			t.Fatalf("sender %d: got message %d, want %d", sm.from, sm.n, next[sm.from])
		}
		next[sm.from]++
	}
}

func TestInlineMailboxDoesNotKeepThePoster(t *testing.T) {
	inv := &fakeInvoker{}
	m := newInlineMailbox()
	m.RegisterHandlers(inv, nil)
	release := make(chan struct{})
	inv.onUser = func(msg any) {
		switch msg {
		case "first": // queue a backlog while the poster runs the mailbox
			for i := 0; i < 100; i++ {
				m.PostUserMessage(i)
			}
		case 50: // the hand-off goroutine waits here, not the poster
			select {
			case <-release:
			case <-time.After(2 * time.Second): // a kept poster fails below, not hangs
			}
		}
	}
	m.PostUserMessage("first")
	if got := inv.count(); got > inlineBudget {
		t.Fatalf("the poster handled %d messages, at most %d expected", got, inlineBudget)
	}
	close(release)
	waitFor(t, "the backlog", func() bool { return inv.count() == 101 })
}

func TestInlineMailboxPanicEscalatesAndGoesOn(t *testing.T) {
	inv := &fakeInvoker{}
	m := newInlineMailbox()
	m.RegisterHandlers(inv, nil)
	inv.onUser = func(msg any) {
		if msg == "boom" {
			panic("boom")
		}
	}
	m.PostUserMessage("boom")
	m.PostUserMessage("after")
	waitFor(t, "the message after the panic", func() bool { return inv.count() == 2 })
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if len(inv.escalated) != 1 || inv.escalated[0] != "boom" {
		t.Fatalf("escalated %v", inv.escalated)
	}
}

func TestInlineMailboxSuspendHoldsUserMessages(t *testing.T) {
	inv := &fakeInvoker{}
	m := newInlineMailbox()
	m.RegisterHandlers(inv, nil)
	m.PostSystemMessage(&actor.SuspendMailbox{})
	m.PostUserMessage("held")
	if inv.count() != 0 || m.UserMessageCount() != 1 {
		t.Fatalf("a suspended mailbox handled %d messages (%d queued)", inv.count(), m.UserMessageCount())
	}
	m.PostSystemMessage(&actor.ResumeMailbox{})
	waitFor(t, "the held message", func() bool { return inv.count() == 1 })
}
