package connector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	binance "github.com/adshao/go-binance/v2"
	"github.com/adshao/go-binance/v2/common"
	wsapi "github.com/adshao/go-binance/v2/common/websocket"
	"github.com/gorilla/websocket"

	"github.com/superbot/superbot/messages"
)

// go-binance's WsUserDataServeSignature cannot be stopped (closing its stopC
// leaves the connection and its goroutine until a read fails) and reports a
// refused subscription as an empty event, so the connector keeps the
// connection itself with gorilla/websocket and uses go-binance only to build
// the signed subscribe request.

// userDataReadLimit bounds one frame of the user data stream.
const userDataReadLimit = 1 << 20

// userDataConfig is what the user data runner needs.
type userDataConfig struct {
	url            string
	apiKey, secret string
	offsetMs       *atomic.Int64 // local minus exchange clock, written by the actor
	stale, rotate  time.Duration
	runner         runnerConfig // backoff, maxBackoff
}

// runUserData owns the user data connection until ud.stop is closed. It runs
// on its own goroutine and only sends messages to the actor: userDataState
// when the subscription goes up or the connection down, userDataReport per
// executionReport. It redials with jittered exponential backoff; a
// connection silent (no frame, no ping) for rc.stale or open for rc.rotate
// is closed and redialed.
func runUserData(rc userDataConfig, ud *userData, send func(any)) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-ud.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	var delay time.Duration
	for {
		if delay > 0 {
			t := time.NewTimer(delay)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		opened := time.Now()
		up, reason := userDataSession(ctx, rc, ud, send)
		send(&userDataState{ud: ud, reason: reason})
		switch {
		case ctx.Err() != nil:
			return
		case reason == reasonRotate:
			delay = 0
		default:
			if up && time.Since(opened) > rc.runner.maxBackoff {
				delay = 0 // it was healthy for a while: start over
			}
			delay = grow(delay, rc.runner)
		}
	}
}

// userDataSession dials, subscribes and reads until the connection ends. It
// reports whether the subscription was up, and why it ended.
func userDataSession(ctx context.Context, rc userDataConfig, ud *userData, send func(any)) (bool, string) {
	dialer := websocket.Dialer{Proxy: http.ProxyFromEnvironment, HandshakeTimeout: 10 * time.Second}
	conn, resp, err := dialer.DialContext(ctx, rc.url, nil)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		if ctx.Err() != nil {
			return false, reasonStopped
		}
		return false, "dial: " + errText(err)
	}
	conn.SetReadLimit(userDataReadLimit)
	var why atomic.Value // set by the closer before it closes the connection
	done := make(chan struct{})
	defer close(done)
	go func() {
		rotate := time.NewTimer(rc.rotate)
		defer rotate.Stop()
		select {
		case <-ctx.Done():
			why.Store(reasonStopped)
		case <-rotate.C:
			why.Store(reasonRotate)
		case <-done:
		}
		_ = conn.Close()
	}()
	alive := keepAlive(conn, rc.stale)
	id := "superbot-userdata-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	req, err := wsapi.CreateRequest(wsapi.NewRequestData(id, rc.apiKey, rc.secret, rc.offsetMs.Load(), common.KeyTypeHmac),
		wsapi.UserDataStreamSubscribeSignatureSpotWsApiMethod, map[string]any{})
	if err != nil {
		return false, "subscribe: " + errText(err)
	}
	_ = conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if err := conn.WriteMessage(websocket.TextMessage, req); err != nil {
		return false, closedReason(&why, err)
	}
	up := false
	for {
		_, raw, err := conn.ReadMessage()
		if err != nil {
			return up, closedReason(&why, err)
		}
		alive()
		var f wsAPIFrame
		if err := json.Unmarshal(raw, &f); err != nil {
			continue // not ours to judge; the stream goes on
		}
		switch {
		case !up && f.isAnswerTo(id):
			if f.Status != http.StatusOK {
				return false, "subscribe refused: " + f.errorText()
			}
			up = true
			send(&userDataState{ud: ud, up: true})
		case len(f.Event) > 0:
			if r, end := userDataEvent(f.Event); end {
				return up, "subscription terminated by the exchange"
			} else if r != nil {
				send(&userDataReport{ud: ud, report: r})
			}
		}
	}
}

// keepAlive makes a read fail once conn has been silent (no frame, no ping)
// for stale, answers pings, and returns the function that restarts the
// silence count.
func keepAlive(conn *websocket.Conn, stale time.Duration) func() {
	alive := func() { _ = conn.SetReadDeadline(time.Now().Add(stale)) }
	conn.SetPingHandler(func(data string) error {
		alive()
		err := conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
		var ne net.Error
		if errors.Is(err, websocket.ErrCloseSent) || errors.As(err, &ne) && ne.Timeout() {
			return nil
		}
		return err
	})
	alive()
	return alive
}

// closedReason says why a read or write on the connection failed.
func closedReason(why *atomic.Value, err error) string {
	if r, ok := why.Load().(string); ok {
		return r
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return reasonStale
	}
	return "closed: " + errText(err)
}

// wsAPIFrame is a WebSocket API answer ({"id","status","result"|"error"})
// or a user data push ({"subscriptionId","event"}).
type wsAPIFrame struct {
	ID     json.RawMessage `json:"id"`
	Status int             `json:"status"`
	Error  *struct {
		Code int    `json:"code"`
		Msg  string `json:"msg"`
	} `json:"error"`
	Event json.RawMessage `json:"event"`
}

func (f *wsAPIFrame) isAnswerTo(id string) bool {
	var got string
	return json.Unmarshal(f.ID, &got) == nil && got == id
}

func (f *wsAPIFrame) errorText() string {
	if f.Error == nil {
		return "status " + strconv.Itoa(f.Status)
	}
	return fmt.Sprintf("%s (%d)", redact(f.Error.Msg), f.Error.Code)
}

// userDataEvent converts an executionReport (nil for other events); end is
// set when the exchange ended the subscription.
func userDataEvent(raw json.RawMessage) (r *messages.ExecutionReport, end bool) {
	var head struct {
		Type string `json:"e"`
		Time int64  `json:"E"`
	}
	if json.Unmarshal(raw, &head) != nil {
		return nil, false
	}
	switch head.Type {
	case "eventStreamTerminated":
		return nil, true
	case "executionReport":
	default:
		return nil, false // outboundAccountPosition, balanceUpdate, listStatus
	}
	var o binance.WsOrderUpdate
	if json.Unmarshal(raw, &o) != nil {
		return nil, false
	}
	return &messages.ExecutionReport{
		Symbol: o.Symbol, ClientOrderId: o.ClientOrderId, OrderId: o.Id, Side: o.Side, Type: o.Type,
		ExecutionType: o.ExecutionType, Status: o.Status, Price: o.Price, Quantity: o.Volume,
		CumulativeFilledQty: o.FilledVolume, CumulativeQuoteQty: o.FilledQuoteVolume,
		LastFilledQty: o.LatestVolume, LastFilledPrice: o.LatestPrice, Commission: o.FeeCost, CommissionAsset: o.FeeAsset,
		TradeId: o.TradeId, Maker: o.IsMaker, TransactionTimeMs: o.TransactionTime, OrigClientOrderId: o.OrigCustomOrderId,
	}, false
}
