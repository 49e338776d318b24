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
// and what the host must know to go on driving it (the last ref it gave
// and which client order id each open ref has).
type envelope struct {
	lastRef uint64
	open    []openRef
	state   []byte
}

// openRef ties a strategy's ref to its order's client order id.
type openRef struct {
	ref uint64
	id  string
}

func (e *envelope) encode() []byte {
	enc := strategy.Encoder{B: make([]byte, 0, 32+len(e.state)+len(e.open)*32)}
	enc.B = append(enc.B, envelopeVersion)
	enc.Uint64(e.lastRef)
	enc.Uint64(uint64(len(e.open)))
	for _, o := range e.open {
		enc.Uint64(o.ref)
		enc.Bytes([]byte(o.id))
	}
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
	n := d.Len(maxOpenOrders, 16)
	if n > 0 {
		e.open = make([]openRef, 0, n)
	}
	for i := 0; i < n && d.Err == nil; i++ {
		ref := d.Uint64()
		id := string(d.Bytes(maxClientIDLen))
		e.open = append(e.open, openRef{ref: ref, id: id})
	}
	e.state = d.Bytes(maxStateBytes)
	if err := d.Finish(); err != nil {
		return envelope{}, err
	}
	return e, nil
}
