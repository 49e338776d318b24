package connector

import (
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// runnerConfig is what a stream runner needs from Config.
type runnerConfig struct {
	wsBase              string
	stale, rotate       time.Duration
	backoff, maxBackoff time.Duration
}

// runStream owns one market stream's connection. It runs on its own
// goroutine until st.stop is closed and only sends messages to the actor:
// streamState when the connection goes up or down, streamData per frame.
// It redials with jittered exponential backoff, and closes the connection
// itself when nothing arrived for rc.stale or it has been open for
// rc.rotate (ahead of Binance's 24 h cut).
func runStream(rc runnerConfig, st *stream, send func(any)) {
	var delay time.Duration
	for {
		if delay > 0 {
			t := time.NewTimer(delay)
			select {
			case <-st.stop:
				t.Stop()
				return
			case <-t.C:
			}
		}
		var last atomic.Int64
		var lastErr atomic.Value
		last.Store(time.Now().UnixNano())
		onData := func(v any) {
			last.Store(time.Now().UnixNano())
			send(&streamData{st: st, payload: v})
		}
		onErr := func(err error) { lastErr.Store(errText(err)) }
		doneC, stopC, err := dialMarket(rc.wsBase, st.key, onData, onErr)
		if err != nil {
			send(&streamState{st: st, reason: "dial: " + errText(err)})
			delay = grow(delay, rc)
			continue
		}
		send(&streamState{st: st, up: true})
		opened := time.Now()
		reason := watchConn(rc, st.stop, doneC, stopC, &last, opened)
		if reason == "" {
			if e, ok := lastErr.Load().(string); ok {
				reason = e
			} else {
				reason = "closed by the exchange"
			}
		}
		send(&streamState{st: st, reason: reason})
		switch reason {
		case reasonStopped:
			return
		case reasonRotate:
			delay = 0
		default:
			if time.Since(opened) > rc.maxBackoff {
				delay = 0 // it was healthy for a while: start over
			}
			delay = grow(delay, rc)
		}
	}
}

const (
	reasonStopped = "stopped"
	reasonRotate  = "rotation before the 24 h cut"
	reasonStale   = "stale: no data"
)

// watchConn waits until the connection ends and says why ("" when the
// exchange or the network closed it).
func watchConn(rc runnerConfig, stop <-chan struct{}, doneC, stopC chan struct{}, last *atomic.Int64, opened time.Time) string {
	stale := time.NewTimer(rc.stale)
	defer stale.Stop()
	rotate := time.NewTimer(rc.rotate - time.Since(opened))
	defer rotate.Stop()
	closeConn := func(reason string) string {
		close(stopC)
		<-doneC
		return reason
	}
	for {
		select {
		case <-stop:
			return closeConn(reasonStopped)
		case <-doneC:
			return ""
		case <-rotate.C:
			return closeConn(reasonRotate)
		case <-stale.C:
			idle := time.Since(time.Unix(0, last.Load()))
			if idle >= rc.stale {
				return closeConn(reasonStale)
			}
			stale.Reset(rc.stale - idle)
		}
	}
}

// grow is the next redial delay: the first is rc.backoff, then doubling to
// rc.maxBackoff, each with ±25 % jitter.
func grow(d time.Duration, rc runnerConfig) time.Duration {
	if d <= 0 {
		d = rc.backoff
	} else {
		d = min(d*2, rc.maxBackoff)
	}
	j := int64(d) / 4
	if j <= 0 {
		return d
	}
	return d - time.Duration(j) + time.Duration(rand.Int64N(2*j))
}
