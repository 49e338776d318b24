package connector

import (
	"sync"

	binance "github.com/adshao/go-binance/v2"
)

// go-binance reads its WebSocket URLs from package globals each time a
// Ws*Serve function dials (and WebsocketKeepalive when the read goroutine
// starts). This package owns those globals: nothing else in superbotd may
// write them. dialStream is the one place that does, under wsMu, and it
// holds wsMu for the whole dial, so connectors with different endpoints in
// one process (tests) each dial their own URL, and the race detector sees
// every access ordered. The cost: dials are serialised process-wide (each is
// bounded by go-binance's 45 s handshake timeout).
var wsMu sync.Mutex

// dialStream sets the stream URLs to wsBase and runs dial under wsMu.
// Keepalive is switched off once: go-binance's keepalive goroutine outlives
// the connection by WebsocketTimeout (600 s) and races on its state; the
// connector's staleness timer replaces it, and gorilla still answers the
// server's pings.
func dialStream(wsBase string, dial func() (doneC, stopC chan struct{}, err error)) (chan struct{}, chan struct{}, error) {
	wsMu.Lock()
	defer wsMu.Unlock()
	if binance.WebsocketKeepalive {
		binance.WebsocketKeepalive = false
	}
	if binance.UseTestnet {
		binance.UseTestnet = false // the URLs below already name the endpoint
	}
	binance.BaseWsMainURL = wsBase + "/ws"
	binance.BaseCombinedMainURL = wsBase + "/stream?streams="
	return dial()
}
