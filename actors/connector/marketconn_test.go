package connector

import (
	"testing"

	binance "github.com/adshao/go-binance/v2"

	"github.com/superbot/superbot/messages"
)

func TestDecodeMarketFrames(t *testing.T) {
	book := streamKey{symbol: "BTCUSDT", kind: messages.StreamKind_STREAM_KIND_BOOK}
	ev, err := decodeMarket(book, []byte(`{"lastUpdateId":7,"bids":[["100.5","2"]],"asks":[["101","1.5"],["102","3"]]}`))
	if err != nil {
		t.Fatal(err)
	}
	d := ev.(*binance.WsPartialDepthEvent)
	if d.Symbol != "BTCUSDT" || d.LastUpdateID != 7 || len(d.Bids) != 1 || len(d.Asks) != 2 ||
		d.Bids[0] != (binance.Bid{Price: "100.5", Quantity: "2"}) || d.Asks[1] != (binance.Ask{Price: "102", Quantity: "3"}) {
		t.Fatalf("depth decoded as %+v", d)
	}
	// go-binance turns a JSON number into "" silently; here it is an error.
	if _, err := decodeMarket(book, []byte(`{"lastUpdateId":7,"bids":[[100.5,2]]}`)); err == nil {
		t.Fatal("numeric levels accepted")
	}
	kl := streamKey{symbol: "BTCUSDT", kind: messages.StreamKind_STREAM_KIND_KLINE, interval: "1m"}
	ev, err = decodeMarket(kl, []byte(`{"e":"kline","s":"BTCUSDT","k":{"t":60000,"T":119999,"i":"1m","c":"5","x":true}}`))
	if k := ev.(*binance.WsKlineEvent); err != nil || !k.Kline.IsFinal || k.Kline.Close != "5" {
		t.Fatalf("kline decoded as %+v, %v", ev, err)
	}
	if _, err := decodeMarket(kl, []byte(`not json`)); err == nil {
		t.Fatal("a bad frame decoded")
	}
	if u := marketURL("ws://h:1", kl); u != "ws://h:1/ws/btcusdt@kline_1m" {
		t.Fatalf("url %s", u)
	}
}
