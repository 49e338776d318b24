package strategies

import (
	"fmt"

	"github.com/superbot/superbot/actors/strategies/strategy"
)

// envelopeVersion starts every state the host saves.
const envelopeVersion = 1

// Limits on a saved state, checked before allocating.
const (
	maxStateBytes  = 16 << 20
	maxOpenOrders  = 100_000
	maxClientIDLen = 64
)

// envelope is what the host saves for a strategy: the strategy's own bytes
// and what the host must know to go on driving it (the last ref it gave,
// its open orders with their client order ids, and its position as last
// reported, until the order actor answers again).
type envelope struct {
	lastRef  uint64
	open     []openRef
	position strategy.Position
	state    []byte
}

// openRef is one open order: the strategy's ref and its client order id.
type openRef struct {
	ref    uint64
	id     string
	side   strategy.Side
	price  float64
	qty    float64
	filled float64
}

func (e *envelope) encode() []byte {
	enc := strategy.Encoder{B: make([]byte, 0, 32+len(e.state)+len(e.open)*32)}
	enc.B = append(enc.B, envelopeVersion)
	enc.Uint64(e.lastRef)
	enc.Uint64(uint64(len(e.open)))
	for _, o := range e.open {
		enc.Uint64(o.ref)
		enc.Bytes([]byte(o.id))
		enc.Uint64(uint64(o.side))
		enc.Float64(o.price)
		enc.Float64(o.qty)
		enc.Float64(o.filled)
	}
	p := e.position
	enc.Float64(p.Quantity)
	enc.Float64(p.AvgPrice)
	enc.Float64(p.RealizedPnL)
	enc.Float64(p.Fees)
	enc.Bytes(e.state)
	return enc.B
}

func decodeEnvelope(b []byte) (envelope, error) {
	var e envelope
	if len(b) == 0 || b[0] != envelopeVersion {
		return e, fmt.Errorf("%w: unknown envelope version", strategy.ErrBadState)
	}
	d := strategy.Decoder{B: b[1:]}
	e.lastRef = d.Uint64()
	n := d.Len(maxOpenOrders, 48)
	if n > 0 {
		e.open = make([]openRef, 0, n)
	}
	for i := 0; i < n && d.Err == nil; i++ {
		o := openRef{ref: d.Uint64(), id: string(d.Bytes(maxClientIDLen))}
		side := d.Uint64()
		o.price, o.qty, o.filled = d.Float64(), d.Float64(), d.Float64()
		if side != uint64(strategy.Buy) && side != uint64(strategy.Sell) {
			return envelope{}, fmt.Errorf("%w: order side %d", strategy.ErrBadState, side)
		}
		o.side = strategy.Side(side)
		e.open = append(e.open, o)
	}
	p := &e.position
	p.Quantity, p.AvgPrice, p.RealizedPnL, p.Fees = d.Float64(), d.Float64(), d.Float64(), d.Float64()
	e.state = d.Bytes(maxStateBytes)
	if err := d.Finish(); err != nil {
		return envelope{}, err
	}
	return e, nil
}
