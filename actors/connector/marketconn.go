package connector

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	binance "github.com/adshao/go-binance/v2"
	"github.com/gorilla/websocket"

	"github.com/superbot/superbot/messages"
)

// marketReadLimit is the largest frame a market stream may send (go-binance's).
const marketReadLimit = 655350

// dialMarket dials the market stream of key under wsBase and reads it on its
// own goroutine, as go-binance's Ws*Serve functions do (the same URLs, the
// same event types, the same read limit), without their two flaws: the URL is
// an argument rather than a package global, and stopping is race-free
// (go-binance sets a "silent" flag on the stopping goroutine that its reader
// reads unsynchronised, which the race detector reports in the daemon).
//
// Each frame is decoded and handed to onData; a frame that does not decode
// goes to onErr and is skipped. A read error ends the stream, and goes to
// onErr unless stopC was closed. Closing stopC closes the connection; doneC
// is closed once the reader has returned.
func dialMarket(wsBase string, key streamKey, onData func(any), onErr func(error)) (doneC, stopC chan struct{}, err error) {
	dialer := websocket.Dialer{Proxy: http.ProxyFromEnvironment, HandshakeTimeout: 10 * time.Second, EnableCompression: true}
	c, resp, err := dialer.Dial(marketURL(wsBase, key), nil)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		return nil, nil, err
	}
	c.SetReadLimit(marketReadLimit)
	doneC, stopC = make(chan struct{}), make(chan struct{})
	var stopped atomic.Bool
	go func() {
		select {
		case <-stopC:
			stopped.Store(true)
		case <-doneC:
		}
		_ = c.Close()
	}()
	go func() {
		defer close(doneC)
		for {
			_, frame, err := c.ReadMessage()
			if err != nil {
				if !stopped.Load() {
					onErr(err)
				}
				return
			}
			ev, err := decodeMarket(key, frame)
			if err != nil {
				onErr(err)
				continue
			}
			onData(ev)
		}
	}()
	return doneC, stopC, nil
}

// marketURL is the raw stream URL of key: wsBase/ws/btcusdt@trade,
// @kline_1m, or @depth20@100ms (the partial book, 20 levels, every 100 ms).
func marketURL(wsBase string, key streamKey) string {
	sym := strings.ToLower(key.symbol)
	switch key.kind {
	case messages.StreamKind_STREAM_KIND_PRICE:
		return fmt.Sprintf("%s/ws/%s@trade", wsBase, sym)
	case messages.StreamKind_STREAM_KIND_KLINE:
		return fmt.Sprintf("%s/ws/%s@kline_%s", wsBase, sym, key.interval)
	default:
		return fmt.Sprintf("%s/ws/%s@depth20@100ms", wsBase, sym)
	}
}

// decodeMarket decodes one frame of key's stream into go-binance's event:
// *binance.WsTradeEvent, *binance.WsKlineEvent or *binance.WsPartialDepthEvent
// (whose frames do not name the symbol: it is key's).
func decodeMarket(key streamKey, frame []byte) (any, error) {
	switch key.kind {
	case messages.StreamKind_STREAM_KIND_PRICE:
		ev := new(binance.WsTradeEvent)
		return ev, json.Unmarshal(frame, ev)
	case messages.StreamKind_STREAM_KIND_KLINE:
		ev := new(binance.WsKlineEvent)
		return ev, json.Unmarshal(frame, ev)
	}
	var d struct {
		LastUpdateID int64       `json:"lastUpdateId"`
		Bids         [][2]string `json:"bids"`
		Asks         [][2]string `json:"asks"`
	}
	if err := json.Unmarshal(frame, &d); err != nil {
		return nil, fmt.Errorf("partial depth: %w", err)
	}
	ev := &binance.WsPartialDepthEvent{Symbol: key.symbol, LastUpdateID: d.LastUpdateID,
		Bids: make([]binance.Bid, len(d.Bids)), Asks: make([]binance.Ask, len(d.Asks))}
	for i, l := range d.Bids {
		ev.Bids[i] = binance.Bid{Price: l[0], Quantity: l[1]}
	}
	for i, l := range d.Asks {
		ev.Asks[i] = binance.Ask{Price: l[0], Quantity: l[1]}
	}
	return ev, nil
}
